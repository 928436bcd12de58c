"""vwhnsw's hnswlib API: behaviour, errors and bad arguments (never a crash).

Run by ctest (tests/python.cmake) as `python3 test_python_api.py`.
"""
import errno
import os
import pickle
import threading

from harness import need, raises, run

np = need("numpy")
vwhnsw = need("vwhnsw")

DIM = 24


def data(n, dim=DIM, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def built(n=1000, space="l2", seed=0, **init):
    x = data(n, seed=seed)
    ix = vwhnsw.Index(space, DIM)
    ix.init_index(max_elements=init.pop("max_elements", n), **init)
    ix.add_items(x)
    return ix, x


def exact(x, q, k, space="l2"):
    if space == "l2":
        d = ((q[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    else:
        if space == "cosine":
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
            q = q / np.linalg.norm(q, axis=1, keepdims=True)
        d = 1.0 - q @ x.T
    return np.argsort(d, axis=1, kind="stable")[:, :k], d


def test_self_query_and_recall():
    ix, x = built(2000)
    labels, dists = ix.knn_query(x[:50], k=1)
    assert labels.dtype == np.uint64 and dists.dtype == np.float32
    assert labels.shape == (50, 1)
    assert (labels[:, 0] == np.arange(50)).all() and (dists == 0).all()
    q = data(100, seed=9)
    ix.set_ef(100)
    labels, _ = ix.knn_query(q, k=10)
    truth, _ = exact(x, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, truth)])
    assert recall > 0.9, recall


def test_distance_conventions():
    q = data(20, seed=5)
    for space in ("l2", "ip", "cosine"):
        ix, x = built(300, space=space)
        ix.set_ef(300)
        labels, dists = ix.knn_query(q, k=5)
        _, d = exact(x, q, 5, space)
        want = np.take_along_axis(d, labels.astype(np.int64), axis=1)
        assert np.allclose(dists, want, atol=1e-4), space


def test_default_ids_follow_hnswlib(tmp):
    ix = vwhnsw.Index("l2", DIM)
    ix.init_index(100)
    ix.add_items(data(10))
    ix.add_items(data(10, seed=1))
    assert sorted(ix.get_ids_list()) == list(range(20))
    path = os.path.join(tmp, "a.vwi")
    ix.save_index(path)
    again = vwhnsw.Index("l2", DIM)
    again.load_index(path, max_elements=50)
    again.add_items(data(5, seed=2))
    assert sorted(again.get_ids_list()) == list(range(25))
    assert again.get_max_elements() == 50


def test_existing_label_is_updated():
    ix, x = built(100)
    v = data(1, seed=42)
    ix.add_items(v, [7])
    assert ix.get_current_count() == 100
    assert np.allclose(ix.get_items([7])[0], v[0])
    assert ix.knn_query(v, k=1)[0][0, 0] == 7


def test_capacity_and_resize():
    ix, x = built(100)
    e = raises(RuntimeError, ix.add_items, data(1, seed=3), [1000])
    assert "exceeds the specified limit" in str(e)
    assert ix.get_current_count() == 100
    ix.add_items(data(1, seed=3), [5])  # an update needs no room
    raises(RuntimeError, ix.resize_index, 50, match="Cannot resize")
    ix.resize_index(200)
    ix.add_items(data(100, seed=4), np.arange(100, 200))
    assert ix.get_current_count() == 200 == ix.element_count == ix.max_elements


def test_mark_and_unmark_deleted():
    ix, x = built(300)
    ix.set_ef(100)
    ix.mark_deleted(5)
    labels, _ = ix.knn_query(x[5], k=10)
    assert 5 not in labels
    assert ix.get_current_count() == 300 and 5 in ix.get_ids_list()
    raises(RuntimeError, ix.get_items, [5], match="Label not found")
    raises(RuntimeError, ix.mark_deleted, 5, match="already deleted")
    raises(RuntimeError, ix.unmark_deleted, 6, match="not deleted")
    raises(RuntimeError, ix.mark_deleted, 100000)
    raises(KeyError, ix.unmark_deleted, 100000)
    ix.unmark_deleted(5)
    assert ix.knn_query(x[5], k=1)[0][0, 0] == 5
    # add_items on a marked label brings it back with the new vector
    ix.mark_deleted(9)
    ix.add_items(x[9], 9)
    assert ix.knn_query(x[9], k=1)[0][0, 0] == 9


def test_replace_deleted():
    ix, x = built(100, allow_replace_deleted=True)
    for label in range(10):
        ix.mark_deleted(label)
    raises(RuntimeError, ix.add_items, data(1, seed=8), [500], match="exceeds")
    ix.add_items(data(10, seed=8), np.arange(500, 510), replace_deleted=True)
    assert ix.get_current_count() == 100
    assert set(range(10)).isdisjoint(ix.get_ids_list())
    raises(RuntimeError, ix.add_items, data(1), [600], match="exceeds")  # full again
    ix.mark_deleted(20)
    raises(RuntimeError, ix.add_items, x[20], 20, match="Can't use addPoint")
    plain, _ = built(10)
    raises(RuntimeError, plain.add_items, data(1), [99], replace_deleted=True,
           match="Replacement of deleted elements is disabled")


def test_k_above_count():
    ix, x = built(5)
    raises(RuntimeError, ix.knn_query, x[0], k=6, match="contiguous 2D array")
    empty = vwhnsw.Index("l2", DIM)
    empty.init_index(10)
    raises(RuntimeError, empty.knn_query, x[0], k=1, match="contiguous 2D array")
    assert ix.knn_query(np.zeros((0, DIM), np.float32), k=3)[0].shape == (0, 3)


def test_filter():
    ix, x = built(500)
    ix.set_ef(200)
    labels, _ = ix.knn_query(x[:40], k=5, filter=lambda label: label % 2 == 0)
    assert (labels % 2 == 0).all()
    raises(RuntimeError, ix.knn_query, x[0], k=5, filter=lambda label: label < 3)

    class Boom(Exception):
        pass

    def bad(label):
        raise Boom(label)

    for rows, threads in ((1, 1), (100, 2), (100, 1)):
        raises(Boom, ix.knn_query, x[:rows], k=5, num_threads=threads, filter=bad)

    class NoTruth:
        def __bool__(self):
            raise Boom("bool")

    raises(Boom, ix.knn_query, x[:3], k=1, filter=lambda label: NoTruth())
    raises(vwhnsw.Error, ix.knn_query, x[0], k=1, filter=lambda label: ix.get_current_count())
    raises(TypeError, ix.knn_query, x[0], k=1, filter=3)
    assert ix.knn_query(x[0], k=1)[0][0, 0] == 0  # still usable


def test_batches_run_on_library_threads():
    """A batch with num_threads=2 calls the filter from the library's threads,
    which can only take the GIL if knn_query released it (else: a hang)."""
    ix, x = built(500)
    seen = set()
    two = threading.Event()

    def record(label):
        seen.add(threading.get_ident())
        if len(seen) > 1:
            two.set()
        two.wait(60)  # the first thread waits here until another one calls
        return True

    ix.knn_query(x[:200], k=3, num_threads=2, filter=record)
    assert two.is_set() and seen - {threading.get_ident()}, seen


def test_inputs_converted_or_refused():
    ix, x = built(200)
    ix.set_ef(50)
    want = ix.knn_query(x[:10], k=3)[0]
    wide = np.zeros((10, DIM * 2), np.float32)
    wide[:, ::2] = x[:10]
    assert (ix.knn_query(wide[:, ::2], k=3)[0] == want).all()  # non-contiguous
    assert (ix.knn_query(x[:10].astype(np.float64), k=3)[0] == want).all()
    assert (ix.knn_query(np.asfortranarray(x[:10]), k=3)[0] == want).all()
    assert (ix.knn_query(x[:10].tolist(), k=3)[0] == want).all()
    assert (ix.knn_query(x[:10].astype(np.float16).astype(np.float32), k=1)[0].shape == (10, 1))
    raises(ValueError, ix.knn_query, np.zeros((2, 2, DIM), np.float32))
    raises(ValueError, ix.knn_query, np.zeros((2, DIM + 1), np.float32))
    raises(ValueError, ix.knn_query, np.array(["a"] * DIM))
    assert ix.knn_query(x[:2], k=0)[0].shape == (2, 0)  # hnswlib's answer
    raises(ValueError, ix.knn_query, x[0], k=1, ef=10**6)
    ix.resize_index(300)
    bad = x[:3].copy()
    bad[1, 4] = np.nan
    raises(ValueError, ix.add_items, bad, [900, 901, 902])
    raises(ValueError, ix.knn_query, bad)
    bad[1, 4] = np.inf
    raises(ValueError, ix.add_items, bad, [900, 901, 902])
    assert ix.get_current_count() == 200
    raises(ValueError, ix.add_items, x[:3], [1, 2])
    raises(ValueError, ix.add_items, x[:1], [-1])
    raises((ValueError, TypeError), ix.add_items, x[:1], ["a"])
    ix.add_items(x[:2], np.array([250, 251], dtype=np.int32))
    assert {250, 251} <= set(ix.get_ids_list())
    raises(ValueError, ix.get_items, 5)
    raises(ValueError, ix.get_items, [1], return_type="tuple")


def test_uninitialised_and_closed():
    ix = vwhnsw.Index("l2", DIM)
    x = data(3)
    for call in (lambda: ix.add_items(x), lambda: ix.knn_query(x), ix.get_ids_list,
                 ix.get_current_count, lambda: ix.mark_deleted(1), lambda: ix.get_items([1]),
                 lambda: ix.save_index("/tmp/never"), ix.stats, ix.index_file_size):
        raises(vwhnsw.Error, call, match="not initialized")
    assert ix.element_count == 0 and ix.M == 0 and ix.max_elements == 0
    ix.init_index(10)
    raises(RuntimeError, ix.init_index, 10, match="already initiated")
    ix.add_items(x)
    with ix:
        assert ix.get_current_count() == 3
    raises(vwhnsw.Error, ix.knn_query, x)
    raises(ValueError, vwhnsw.Index, "hamming", DIM)
    raises(ValueError, vwhnsw.Index, "l2", 0)
    raises(TypeError, vwhnsw.Index)
    raw = vwhnsw.Index.__new__(vwhnsw.Index)
    raises(vwhnsw.Error, raw.knn_query, x)
    raises(vwhnsw.Error, raw.init_index, 10)


def test_files_and_errors(tmp):
    ix, x = built(300)
    path = os.path.join(tmp, "i.vwi")
    ix.save_index(path)
    for mmap in (False, True):
        again = vwhnsw.Index("l2", DIM)
        again.load_index(path, mmap=mmap)
        assert again.get_current_count() == 300
        assert (again.knn_query(x[:20], k=5)[0] == ix.knn_query(x[:20], k=5)[0]).all()
    raises(vwhnsw.ReadOnlyError, again.add_items, x[:1], [999])
    raises(ValueError, vwhnsw.Index("l2", DIM + 1).load_index, path)
    raises(ValueError, vwhnsw.Index("ip", DIM).load_index, path)
    e = raises(OSError, vwhnsw.Index("l2", DIM).load_index, os.path.join(tmp, "missing"))
    assert e.errno == errno.ENOENT and e.filename.endswith("missing")
    junk = os.path.join(tmp, "junk.vwi")
    with open(junk, "wb") as f:
        f.write(b"VWHNSW\0\0" + b"\xff" * 100)
    raises(vwhnsw.FormatError, vwhnsw.Index("l2", DIM).load_index, junk)
    raises(OSError, ix.save_index, os.path.join(tmp, "no", "such", "dir.vwi"))
    assert ix.index_file_size() == os.path.getsize(path)


def test_pickle():
    ix, x = built(200, space="cosine")
    ix.set_ef(77)
    ix.mark_deleted(3)
    again = pickle.loads(pickle.dumps(ix))
    assert again.ef == 77 and again.space == "cosine" and again.get_current_count() == 200
    assert (again.knn_query(x[:10], k=4)[0] == ix.knn_query(x[:10], k=4)[0]).all()
    again.unmark_deleted(3)
    assert again.knn_query(x[3], k=1)[0][0, 0] == 3
    blank = pickle.loads(pickle.dumps(vwhnsw.Index("ip", 5)))
    assert blank.dim == 5 and blank.space == "ip"
    raises(vwhnsw.Error, blank.knn_query, np.zeros(5, np.float32))


def test_get_items_and_ids():
    ix, x = built(50, space="cosine")
    got = ix.get_items([1, 2])
    assert got.shape == (2, DIM) and got.dtype == np.float32
    unit = x[1:3] / np.linalg.norm(x[1:3], axis=1, keepdims=True)
    assert np.allclose(got, unit, atol=1e-6)
    as_list = ix.get_items([1], return_type="list")
    assert isinstance(as_list, list) and len(as_list[0]) == DIM
    assert ix.get_items().shape[0] == 0
    assert sorted(ix.get_ids_list()) == list(range(50))


def test_extras_storage_ef_upsert_remove():
    x = data(2000)
    q = data(50, seed=3)
    truth, _ = exact(x, q, 10)
    for storage, keep in (("f16", True), ("i8", True), ("i8", False)):
        ix = vwhnsw.Index("l2", DIM)
        ix.init_index(2000, storage=storage, keep_float32=keep)
        ix.add_items(x)
        labels, _ = ix.knn_query(q, k=10, ef=200)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, truth)])
        assert recall > 0.85, (storage, recall)
        st = ix.stats()
        assert st["storage"] == storage and st["exact_distances"] == keep
    raises(ValueError, vwhnsw.Index("l2", DIM).init_index, 10, storage="f8")
    ix, x = built(2000)
    low = ix.knn_query(q, k=10, ef=10)[0]
    high = ix.knn_query(q, k=10, ef=300)[0]
    r = [np.mean([len(set(a) & set(b)) / 10 for a, b in zip(lab, truth)]) for lab in (low, high)]
    assert r[1] > r[0]
    ix.upsert(data(1, seed=11), [5000])
    assert ix.get_current_count() == 2001 and ix.max_elements >= 2001
    ix.remove([5000, 1])
    assert 1 not in ix.get_ids_list() and ix.get_current_count() == 1999
    raises(KeyError, ix.remove, [1])
    raises(ValueError, ix.upsert, x[:1], None)
    ix.purge()
    ix.reorder()
    assert ix.knn_query(x[7], k=1)[0][0, 0] == 7


def test_open_and_detect(tmp):
    ix, x = built(300, space="ip")
    path = os.path.join(tmp, "o.vwi")
    ix.save_index(path)
    assert vwhnsw.detect(path) == "vwhnsw"
    opened = vwhnsw.open(path)
    assert opened.space == "ip" and opened.dim == DIM and opened.get_current_count() == 300
    raises(ValueError, vwhnsw.open, path, space="l2")
    mapped = vwhnsw.open(path, mmap=True)
    assert mapped.stats()["mmapped"]
    other = os.path.join(tmp, "other.bin")
    with open(other, "wb") as f:
        f.write(b"hello")
    assert vwhnsw.detect(other) is None
    raises(OSError, vwhnsw.open, os.path.join(tmp, "nope"))


def test_store(tmp):
    ix, x = built(100)
    seed = os.path.join(tmp, "seed.vwi")
    ix.save_index(seed)
    d = os.path.join(tmp, "store")
    with vwhnsw.Store(d, seed) as s:
        assert len(s) == 100
        s.upsert(data(2, seed=5), [1000, 1001])
        s.remove([3])
        assert len(s) == 101
        labels, _ = s.knn_query(data(1, seed=5), k=1, ef=50)
        assert labels[0, 0] == 1000
        assert s.stats()["log_records"] >= 2
    raises(vwhnsw.Error, s.knn_query, x[0])
    with vwhnsw.Store(d) as s:  # recovered from snapshot + log
        assert len(s) == 101 and s.stats()["replayed_records"] >= 2
        s.snapshot()
        assert s.stats()["log_records"] == 0
    raises(OSError, vwhnsw.Store, os.path.join(tmp, "empty"))


def test_shard_of():
    """vwhnsw.shard_of is the library's vw_shard_of: pinned values (the
    function is fixed forever), the array form agrees with the scalar one,
    and growing N to N+1 shards moves ids only to the new shard."""
    assert vwhnsw.shard_of(12345, 1) == 0 and vwhnsw.shard_of(7, 0) == 0
    # tests/test_cluster_hash.c's golden values for n = 10
    golden_ids = [0, 1, 2, 3, 7, 1000, 2**32 - 1, 2**32, 2**53 - 1, 2**53, 2**53 + 1, 2**63,
                  2**64 - 2, 2**64 - 1, 0x123456789ABCDEF0]
    assert [vwhnsw.shard_of(i, 10) for i in golden_ids] == [0, 9, 7, 9, 8, 5, 9, 1, 4, 1, 7, 1,
                                                            9, 3, 8]
    ids = np.arange(10000, dtype=np.uint64)
    four = vwhnsw.shard_of(ids, 4)
    assert four.shape == (10000,) and set(four.tolist()) == {0, 1, 2, 3}
    assert [vwhnsw.shard_of(int(i), 4) for i in ids[:50]] == four[:50].tolist()
    five = vwhnsw.shard_of(ids, 5)
    moved = four != five
    assert (five[moved] == 4).all() and 0.1 < moved.mean() < 0.3
    raises(ValueError, vwhnsw.shard_of, -1, 4)


def test_bfindex(tmp):
    x = data(300)
    q = data(20, seed=4)
    for space in ("l2", "ip", "cosine"):
        bf = vwhnsw.BFIndex(space, DIM)
        bf.init_index(300)
        bf.add_items(x, np.arange(300) + 10)
        labels, dists = bf.knn_query(q, k=5)
        truth, d = exact(x, q, 5, space)
        assert (labels == truth + 10).all(), space
        assert np.allclose(dists, np.take_along_axis(d, truth, axis=1), atol=1e-4)
    bf.delete_vector(truth[0, 0] + 10)
    assert bf.get_current_count() == 299
    assert truth[0, 0] + 10 not in bf.knn_query(q[0], k=5)[0]
    labels, _ = bf.knn_query(q, k=3, filter=lambda label: label % 3 == 0)
    assert (labels % 3 == 0).all()
    raises(RuntimeError, bf.knn_query, q, k=400, match="contiguous")
    raises(RuntimeError, bf.add_items, data(2), [5000, 5001], match="exceeds")
    path = os.path.join(tmp, "bf.bin")
    bf.save_index(path)
    again = vwhnsw.BFIndex("cosine", DIM)
    again.load_index(path)
    assert again.get_current_count() == bf.get_current_count() == 300  # 5000 got in
    assert (again.knn_query(q, k=5)[0] == bf.knn_query(q, k=5)[0]).all()
    raises(OSError, vwhnsw.BFIndex("l2", DIM + 1).load_index, path)
    raises(vwhnsw.Error, vwhnsw.BFIndex("l2", DIM).knn_query, q)


def test_readme_example(tmp):
    """The README's "From Python" program runs as written (beside an
    index.faiss and an index.hnsw made here by the engines themselves)."""
    readme = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
    text = open(readme).read().split("## From Python", 1)[1]
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    try:
        import faiss
        import hnswlib
    except ImportError:
        print("  (faiss or hnswlib missing: README example not run)")
        return
    x = np.random.default_rng(1).random((1000, 128), dtype=np.float32)
    f = faiss.IndexHNSWFlat(128, 16)
    f.add(x)
    faiss.write_index(f, os.path.join(tmp, "index.faiss"))
    h = hnswlib.Index(space="ip", dim=128)
    h.init_index(1000)
    h.add_items(x)
    h.save_index(os.path.join(tmp, "index.hnsw"))
    here = os.getcwd()
    os.chdir(tmp)
    try:
        exec(compile(code, "README.md (From Python)", "exec"), {})
    finally:
        os.chdir(here)


if __name__ == "__main__":
    run(globals())

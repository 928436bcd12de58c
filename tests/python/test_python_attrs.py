"""vwhnsw's attributes and attribute filters (issue 27) from Python.

add_items/upsert(attributes=[...]), get_attributes, knn_query(filter=dict or
JSON text) beside hnswlib's callable, and Store.upsert(attributes=...) kept
through reopening. Run by ctest (tests/python.cmake).
"""
import json

from harness import need, raises, run

np = need("numpy")
vwhnsw = need("vwhnsw")

DIM = 8
N = 400


def data(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)


def colour(i):
    return "red" if i % 10 == 0 else "blue"


def attrs(n):
    return [{"color": colour(i), "price": i % 50, "tags": ["t%d" % (i % 3)]} for i in range(n)]


def built():
    x = data(N)
    ix = vwhnsw.Index("l2", DIM)
    ix.init_index(max_elements=N)
    ix.add_items(x, attributes=attrs(N))
    return ix, x


def exact_matching(x, q, k, keep):
    ids = np.array([i for i in range(len(x)) if keep(i)])
    d = ((x[ids] - q) ** 2).sum(1)
    return ids[np.argsort(d, kind="stable")[:k]]


def test_attributes_round_trip():
    ix, _ = built()
    assert ix.get_attributes(10) == {"color": "red", "price": 10, "tags": ["t1"]}
    assert ix.get_attributes(11)["color"] == "blue"
    ix.upsert(data(1, seed=3), [11])  # an Index upsert keeps them (the library's rule)
    assert ix.get_attributes(11)["color"] == "blue"
    ix.upsert(data(1, seed=3), [11], attributes=[None])
    assert ix.get_attributes(11) is None
    ix.upsert(data(1, seed=3), [11], attributes=['{"color": "green"}'])  # JSON text
    assert ix.get_attributes(11) == {"color": "green"}
    raises(vwhnsw.LabelNotFoundError, ix.get_attributes, 99999)


def test_bad_attributes_are_refused_before_writing():
    ix, _ = built()
    raises(vwhnsw.ArgumentError, ix.add_items, data(2, 5), [500, 501],
           attributes=[{"ok": 1}, {"a": {"b": 1}}], match="attributes[1]: attributes.a")
    raises(vwhnsw.LabelNotFoundError, ix.get_items, [500])  # nothing written
    raises(vwhnsw.ArgumentError, ix.add_items, data(2, 5), [500, 501], attributes=[{}],
           match="1 entries for 2 rows")
    raises(TypeError, ix.add_items, data(1, 5), [500], attributes=[7])


def test_filters_dict_text_and_callable():
    ix, x = built()
    q = data(5, seed=7)
    red = {"must": [{"key": "color", "match": {"value": "red"}}]}
    for f in (red, json.dumps(red)):
        labels, _ = ix.knn_query(q, k=10, filter=f)
        for row, qq in zip(labels, q):
            assert all(colour(int(i)) == "red" for i in row)
            assert sorted(row) == sorted(exact_matching(x, qq, 10, lambda i: i % 10 == 0))
    labels, _ = ix.knn_query(q, k=5, filter=lambda i: i % 10 == 0)  # hnswlib's callable
    assert all(int(i) % 10 == 0 for i in labels.ravel())
    cheap = {"must": [{"key": "price", "range": {"lt": 3}}, {"key": "tags", "match": {"any": ["t0"]}}]}
    labels, _ = ix.knn_query(q[0], k=3, filter=cheap)
    assert all(int(i) % 50 < 3 and int(i) % 3 == 0 for i in labels.ravel())
    raises(vwhnsw.ArgumentError, ix.knn_query, q, k=1,
           filter={"must": [{"key": "price", "range": {"gte": "10"}}]}, match="range.gte")
    raises(TypeError, ix.knn_query, q, k=1, filter=3)


def test_attributes_saved(tmp):
    ix, _ = built()
    path = tmp + "/a.vwi"
    ix.save_index(path)
    back = vwhnsw.open(path)
    assert back.get_attributes(20) == {"color": "red", "price": 20, "tags": ["t2"]}


def test_store_upsert_replaces_and_survives(tmp):
    ix, x = built()
    seed = tmp + "/seed.vwi"
    ix.save_index(seed)
    d = tmp + "/store"
    with vwhnsw.Store(d, seed) as s:
        assert s.get_attributes(10)["color"] == "red"
        s.upsert(data(2, 9), [10, 600], attributes=[{"color": "gold"}, {"color": "gold", "n": 2}])
        s.upsert(data(1, 9), [20])  # a store upsert replaces the element: no attributes
        raises(vwhnsw.ArgumentError, s.upsert, data(1, 9), [601], attributes=[{"x": [1]}],
               match="attributes.x")
    with vwhnsw.Store(d) as s:  # replayed from the log
        assert s.stats()["replayed_records"] == 2
        assert s.get_attributes(10) == {"color": "gold"}
        assert s.get_attributes(600) == {"color": "gold", "n": 2}
        assert s.get_attributes(20) is None
        raises(vwhnsw.LabelNotFoundError, s.get_attributes, 601)
        labels, _ = s.knn_query(data(1, 2), k=2,
                                filter={"must": [{"key": "color", "match": {"value": "gold"}}]})
        assert sorted(labels[0].tolist()) == [10, 600]


run(globals())

"""A small runner for the Python module's tests: plain python3, no pytest.

Each test file calls run(globals()): every function named test_* runs in
order, with a fresh temporary directory as argument if it takes one. Exit
status 0 when all pass, 1 if any fails, 77 (ctest's skip) when numpy or the
module cannot be imported. pytest can also collect the same files.
"""
import inspect
import os
import sys
import tempfile
import traceback

SKIP = 77


def need(module_name):
    """Imports a module or exits with the skip status."""
    try:
        return __import__(module_name)
    except ImportError as e:
        print(f"SKIP: {module_name} not importable ({e})")
        sys.exit(SKIP)


def run(namespace):
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    only = os.environ.get("VW_PY_TEST")
    failed = 0
    for name, fn in tests:
        if only and only != name:
            continue
        try:
            if inspect.signature(fn).parameters:
                with tempfile.TemporaryDirectory(prefix="vwhnsw-test-") as d:
                    fn(d)
            else:
                fn()
            print(f"PASS {name}")
        except Exception:
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
        sys.stdout.flush()
    print(f"{len(tests) - failed}/{len(tests)} passed")
    sys.exit(1 if failed else 0)


def raises(exc, fn, *args, match=None, **kw):
    """fn(*args, **kw) must raise exc (whose text contains match); returns it."""
    try:
        fn(*args, **kw)
    except exc as e:
        if match is not None and match not in str(e):
            raise AssertionError(f"{exc.__name__} raised, but {match!r} not in {str(e)!r}")
        return e
    raise AssertionError(f"{getattr(fn, '__name__', fn)} did not raise {exc.__name__}")

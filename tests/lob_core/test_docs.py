import doctest

import lob_core._book


def test_order_book_docstring_example_runs():
    finder = doctest.DocTestFinder()
    tests = finder.find(lob_core._book.OrderBook, "OrderBook", globs={})
    runner = doctest.DocTestRunner()
    examples = sum(len(t.examples) for t in tests)
    for test in tests:
        runner.run(test)
    assert examples >= 5 and runner.failures == 0

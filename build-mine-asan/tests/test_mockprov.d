build-mine-asan/tests/test_mockprov: tests/test_mockprov.c tests/check.h \
 tests/harness.h
tests/check.h:
tests/harness.h:

build-mine-asan/tests/test_ledger: tests/test_ledger.c tests/check.h \
 mockprov/ledger.h
tests/check.h:
mockprov/ledger.h:

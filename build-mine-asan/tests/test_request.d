build-mine-asan/tests/test_request: tests/test_request.c tests/check.h \
 mockprov/request.h
tests/check.h:
mockprov/request.h:

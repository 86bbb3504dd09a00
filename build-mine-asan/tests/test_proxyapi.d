build-mine-asan/tests/test_proxyapi: tests/test_proxyapi.c tests/check.h \
 common/clock.h tests/harness.h chaos/proxyapi.h
tests/check.h:
common/clock.h:
tests/harness.h:
chaos/proxyapi.h:

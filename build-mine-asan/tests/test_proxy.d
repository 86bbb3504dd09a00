build-mine-asan/tests/test_proxy: tests/test_proxy.c tests/check.h \
 common/clock.h tests/harness.h chaos/proxy.h chaos/toxic.h chaos/toxic.h
tests/check.h:
common/clock.h:
tests/harness.h:
chaos/proxy.h:
chaos/toxic.h:
chaos/toxic.h:

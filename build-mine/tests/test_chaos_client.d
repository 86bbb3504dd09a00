build-mine/tests/test_chaos_client: tests/test_chaos_client.c \
 chaos/client.h chaos/proxy.h chaos/toxic.h tests/check.h tests/harness.h
chaos/client.h:
chaos/proxy.h:
chaos/toxic.h:
tests/check.h:
tests/harness.h:

build-rep/cli/chaos_proxy.o: cli/chaos_proxy.c chaos/proxy.h \
 chaos/toxic.h chaos/proxyapi.h chaos/toxic.h cli/cli.h
chaos/proxy.h:
chaos/toxic.h:
chaos/proxyapi.h:
chaos/toxic.h:
cli/cli.h:

build-rep/chaos/proxyapi.o: chaos/proxyapi.c chaos/proxyapi.h \
 chaos/proxy.h chaos/toxic.h
chaos/proxyapi.h:
chaos/proxy.h:
chaos/toxic.h:

build-rep/chaos/proxy.o: chaos/proxy.c chaos/proxy.h chaos/toxic.h \
 common/clock.h
chaos/proxy.h:
chaos/toxic.h:
common/clock.h:

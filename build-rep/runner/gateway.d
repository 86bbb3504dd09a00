build-rep/runner/gateway.o: runner/gateway.c runner/gateway.h \
 chaos/client.h common/clock.h
runner/gateway.h:
chaos/client.h:
common/clock.h:

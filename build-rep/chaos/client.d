build-rep/chaos/client.o: chaos/client.c chaos/client.h common/clock.h \
 chaos/scanner.h
chaos/client.h:
common/clock.h:
chaos/scanner.h:

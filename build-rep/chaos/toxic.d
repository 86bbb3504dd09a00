build-rep/chaos/toxic.o: chaos/toxic.c chaos/toxic.h
chaos/toxic.h:

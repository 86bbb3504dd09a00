build-rep/chaos/scanner.o: chaos/scanner.c chaos/scanner.h
chaos/scanner.h:

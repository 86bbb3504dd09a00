build-mine-asan/chaos/scanner.o: chaos/scanner.c chaos/scanner.h
chaos/scanner.h:

build-rep/mockprov/profile.o: mockprov/profile.c mockprov/profile.h
mockprov/profile.h:

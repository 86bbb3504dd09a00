build-rep/main.o: main.c cli/cli.h mockprov/profile.h mockprov/server.h
cli/cli.h:
mockprov/profile.h:
mockprov/server.h:

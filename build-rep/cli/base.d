build-rep/cli/base.o: cli/base.c cli/cli.h
cli/cli.h:

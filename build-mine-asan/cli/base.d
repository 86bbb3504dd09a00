build-mine-asan/cli/base.o: cli/base.c cli/cli.h
cli/cli.h:

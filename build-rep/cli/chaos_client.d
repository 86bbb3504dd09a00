build-rep/cli/chaos_client.o: cli/chaos_client.c chaos/client.h cli/cli.h
chaos/client.h:
cli/cli.h:

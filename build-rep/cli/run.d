build-rep/cli/run.o: cli/run.c cli/cli.h runner/run.h runner/scenario.h \
 chaos/client.h runner/gate.h runner/stats.h
cli/cli.h:
runner/run.h:
runner/scenario.h:
chaos/client.h:
runner/gate.h:
runner/stats.h:

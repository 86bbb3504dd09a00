build-rep/runner/report.o: runner/report.c runner/results.h runner/gate.h \
 runner/stats.h runner/scenario.h chaos/client.h
runner/results.h:
runner/gate.h:
runner/stats.h:
runner/scenario.h:
chaos/client.h:

build-mine/bench/proxybench: bench/proxybench.c

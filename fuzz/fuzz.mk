# fuzz/fuzz.mk - libFuzzer targets; included by the top-level Makefile.
#
#   make fuzz                  build build/fuzz_entry and fuzz entry_decode for
#                              FUZZ_SECONDS (default 60) seconds
#   make fuzz FUZZ_SECONDS=600
#
# Needs clang with libFuzzer (Debian: clang and libclang-rt-dev, or the
# versioned runtime of the default clang; scripts/install-deps.sh picks it).
# Seeds are read from fuzz/corpus/entry (kept small and under version
# control); inputs the fuzzer finds go to build/fuzz-corpus/entry, crashes
# and other findings to build/fuzz-crash-*.

# Keep the including Makefile's default goal (this file defines rules).
fuzz_saved_goal := $(.DEFAULT_GOAL)

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_FLAGS   ?=
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror -Iinclude \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_ENTRY_SRCS := preload/entry.c preload/key.c preload/cache.c fuzz/fuzz_entry.c

.PHONY: fuzz

build/fuzz_entry: $(FUZZ_ENTRY_SRCS) $(wildcard include/*.h) fuzz/fuzz.mk
	@mkdir -p build
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_ENTRY_SRCS) -lpthread

fuzz: build/fuzz_entry
	@mkdir -p build/fuzz-corpus/entry
	build/fuzz_entry -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build/fuzz-crash- $(FUZZ_FLAGS) \
	    build/fuzz-corpus/entry fuzz/corpus/entry

.DEFAULT_GOAL := $(fuzz_saved_goal)

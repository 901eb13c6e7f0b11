# onionbalance-offline build.
#
#   make                 build/ob-online and build/ob-offline (optimised, hardened)
#   make check           lint, then every test under ASan+UBSan (build/san)
#   make CC=clang        the same with clang
#   make deps            install the Debian packages the build and tests need
#   make demo            the main job, end to end
#   make install PREFIX=/usr/local   both programs, man pages, completion, docs, the unit
#   make install-offline             ob-offline alone (the offline machine)
#   make deb                         the Debian packages ob-online and ob-offline (../*.deb)
#
# Sources are picked up by directory: format/*/*.c is shared (its folders are
# listed in docs/architecture.rst), online/*.c and offline/*.c belong to one
# program each (their main.c holds main()).  The
# programs link against static libraries, so a program only contains the
# shared objects it calls; tests/unit/test_symbols.sh checks the separation.

CC      ?= cc
PREFIX  ?= /usr/local
# Install locations (docs/packaging.rst).  The systemd unit names BINDIR in its
# ExecStart; systemd, sysusers and tmpfiles also search /usr/local/lib.
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/onionbalance-offline
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
BUILD   ?= build
SAN     ?= 0
PKG_CONFIG ?= pkg-config

# format/ is grouped by concern; every folder is on the include path so that
# includes stay short ("bundle.h", not "../bundle/bundle.h").
FORMAT_DIRS := core hs bundle config transfer verbs
FORMAT_INC  := $(addprefix -Iformat/,$(FORMAT_DIRS))

PKGS      := libcrypto libsodium yaml-0.1 libqrencode zbar zlib libpng
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wvla -Wundef
ifeq ($(SAN),1)
# gcc's -Wformat-truncation guesses differently at -O1 than at -O2 and
# flags snprintf calls whose truncation is handled; the -O2 build keeps it.
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
       -Wno-format-truncation
LDSAN := -fsanitize=address,undefined
else
OPT := -O2 -g -D_FORTIFY_SOURCE=2
LDSAN :=
endif
CFLAGS ?=
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) $(WARN) \
              -fstack-protector-strong -fPIE $(FORMAT_INC) -Ionline -Ioffline $(PKG_CFLAGS) $(CFLAGS)
# --as-needed: a program records only the libraries it calls into, so the
# packages' dependencies (dpkg-shlibdeps) follow what each really uses.
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(LDSAN) $(LDFLAGS)

ifneq ($(wildcard format/*.c),)
$(error format/ holds sources only in its folders ($(FORMAT_DIRS)): move $(wildcard format/*.c))
endif
FORMAT_SRC  := $(sort $(foreach d,$(FORMAT_DIRS),$(wildcard format/$(d)/*.c)))
ONLINE_SRC  := $(sort $(filter-out online/main.c,$(wildcard online/*.c)))
OFFLINE_SRC := $(sort $(filter-out offline/main.c,$(wildcard offline/*.c)))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))

# Quiet by default; `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

FORMAT_LIB  := $(BUILD)/libobformat.a
ONLINE_LIB  := $(BUILD)/libobonline.a
OFFLINE_LIB := $(BUILD)/liboboffline.a
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.SECONDARY:
.PHONY: all check unit lint fmt deps install install-online install-offline uninstall deb demo e2e \
        bench fuzz clean
all: $(BUILD)/ob-online $(BUILD)/ob-offline

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(FORMAT_LIB): $(call obj,$(FORMAT_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^
$(ONLINE_LIB): $(call obj,$(ONLINE_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^
$(OFFLINE_LIB): $(call obj,$(OFFLINE_SRC))
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/ob-online: $(call obj,online/main.c) $(ONLINE_LIB) $(FORMAT_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/ob-offline: $(call obj,offline/main.c) $(OFFLINE_LIB) $(FORMAT_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Unit tests may reach into either side; the products may not (see above).
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(OFFLINE_LIB) $(ONLINE_LIB) $(FORMAT_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

unit: all $(UNIT_BIN)

# The test programs are built with sanitizers in their own tree.
check: lint
	$(MAKE) BUILD=$(BUILD)/san SAN=1 unit
	OB_BUILD=$(BUILD)/san ./tests/run.sh

lint:
	./tests/lint.sh

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

deps:
	./tests/deps.sh

e2e: all
	OB_BUILD=$(BUILD) ./tests/run.sh e2e

bench: all
	OB_BUILD=$(BUILD) ./tests/bench/run.sh

# On a fresh machine the packages come first, then the build.
demo: deps
	$(MAKE) all
	./tests/demo.sh

# `make fuzz`: one libFuzzer program per tests/fuzz/fuzz_*.c, built with clang
# and linked with the shared code (format/), all instrumented; e.g.
#   build/fuzz/fuzz_bundle -max_total_time=60 CORPUS_DIR
FUZZ_CC    ?= clang
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN   := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
FUZZ_OBJ   := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FORMAT_SRC))
FUZZ_FLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer \
              -fsanitize=fuzzer-no-link,address,undefined $(WARN) $(FORMAT_INC) $(PKG_CFLAGS)

fuzz: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -c -o $@ $<

$(FUZZ_BIN): $(FUZZ_DIR)/%: $(FUZZ_DIR)/obj/tests/fuzz/%.o $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# The unit, sysusers.d and tmpfiles.d files come with ob-online; as root,
# after `make install`: systemd-sysusers; systemd-tmpfiles --create;
# systemctl daemon-reload (the Debian package does this itself).
install: install-online install-offline
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 README.rst docs/*.rst $(DESTDIR)$(DOCDIR)/
	install -m 0644 dist/examples/ob-online.yaml $(DESTDIR)$(DOCDIR)/examples/

install-online: $(BUILD)/ob-online
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0755 $(BUILD)/ob-online $(DESTDIR)$(BINDIR)/
	install -m 0644 man/ob-online.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 dist/bash-completion/onionbalance-offline $(DESTDIR)$(BASHCOMPDIR)/ob-online
	sed 's|/usr/bin/ob-online|$(BINDIR)/ob-online|' dist/systemd/ob-online.service \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/ob-online.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/ob-online.service
	install -m 0644 dist/systemd/ob-online.sysusers $(DESTDIR)$(SYSUSERSDIR)/ob-online.conf
	install -m 0644 dist/systemd/ob-online.tmpfiles $(DESTDIR)$(TMPFILESDIR)/ob-online.conf

install-offline: $(BUILD)/ob-offline
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/ob-offline $(DESTDIR)$(BINDIR)/
	install -m 0644 man/ob-offline.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 dist/bash-completion/onionbalance-offline $(DESTDIR)$(BASHCOMPDIR)/ob-offline

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ob-online $(DESTDIR)$(BINDIR)/ob-offline \
	      $(DESTDIR)$(MANDIR)/man1/ob-online.1 $(DESTDIR)$(MANDIR)/man1/ob-offline.1 \
	      $(DESTDIR)$(BASHCOMPDIR)/ob-online $(DESTDIR)$(BASHCOMPDIR)/ob-offline \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/ob-online.service $(DESTDIR)$(SYSUSERSDIR)/ob-online.conf \
	      $(DESTDIR)$(TMPFILESDIR)/ob-online.conf
	rm -rf $(DESTDIR)$(DOCDIR)

# The Debian packages (debian/, docs/packaging.rst): $(BUILD)/debs/ob-online_*.deb
# and ob-offline_*.deb.  Not part of `make check`: it builds from scratch.
OB_DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
# dpkg-buildpackage writes beside the source tree; the results are moved to
# $(BUILD)/debs so that nothing lands in the parent folder.
deb:
	dpkg-buildpackage -us -uc -b
	mkdir -p $(BUILD)/debs
	mv ../ob-online_$(OB_DEB_VERSION)_* ../ob-offline_$(OB_DEB_VERSION)_* \
	   ../ob-online-dbgsym_$(OB_DEB_VERSION)_* ../ob-offline-dbgsym_$(OB_DEB_VERSION)_* \
	   ../onionbalance-offline_$(OB_DEB_VERSION)_*.buildinfo \
	   ../onionbalance-offline_$(OB_DEB_VERSION)_*.changes $(BUILD)/debs/
	@ls -l $(BUILD)/debs

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

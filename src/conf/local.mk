# src/conf: sources and tests of this subsystem (included by Makefile.am).
# Value parsing is pure (libraftlb_core.a); reading the file (inih), resolving
# addresses (getaddrinfo) and checking files are I/O (libraftlb_io.a).
libraftlb_core_a_SOURCES += \
	src/conf/conf_value.h src/conf/conf_value.c

libraftlb_io_a_SOURCES += \
	src/conf/conf.h src/conf/conf_internal.h \
	src/conf/conf_load.c \
	src/conf/conf_keys.c \
	src/conf/conf_validate.c \
	src/conf/conf_addr.h src/conf/conf_addr.c \
	src/conf/conf_names.h src/conf/conf_names.c

EXTRA_DIST += conf/raftlb.ini conf/standalone.ini \
	conf/cluster-n1.ini conf/cluster-n2.ini conf/cluster-n3.ini

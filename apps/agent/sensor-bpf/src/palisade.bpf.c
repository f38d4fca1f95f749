// SPDX-License-Identifier: GPL-2.0
/* palisade.bpf.c: Palisade's kernel sensor. Classic tracepoints, and the raw form of one (fork,
 * for its task pointers), CO-RE throughout so that one build runs on many kernels. Each program builds a record in
 * a per-CPU scratch buffer and copies only the used bytes into the ring buffer; a failed copy is
 * counted per kind in `drops`. See records.h for the record layouts and README.md for limits. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "records.h"

char LICENSE[] SEC("license") = "GPL";

#include "bpf_common.h"
#include "bpf_net.h"
#include "bpf_cred.h"
#include "bpf_process.h"
#include "bpf_file.h"

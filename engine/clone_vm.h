// clone_vm_into_cgroup: a vfork that creates the child inside a cgroup.
//
// clone3(CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP) needs the child to start on a stack of its
// own, which no libc call offers (glibc 2.36 has no clone3 wrapper, and its clone() cannot pass
// CLONE_INTO_CGROUP), so a few instructions per architecture make the system call and, in the
// child, call `child(arg)` on `stack` and exit with what it returns. Without them (another
// architecture) the call returns -1 with ENOSYS and the caller falls back to a copying clone3,
// which is correct but costs the engine's page tables and copy-on-write faults at every start.
//
// As with vfork: the caller is suspended until the child execs or exits, the child shares the
// caller's memory, and so it may make system calls only, on data prepared before.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace jr {

// The child's pid, or -1 with errno set. `stack` is the lowest address of `stack_size` bytes
// the child runs on; `cgroup_fd` is an O_PATH (or O_DIRECTORY) descriptor of a cgroup v2 group.
pid_t clone_vm_into_cgroup(int cgroup_fd, void* stack, std::size_t stack_size, int (*child)(void*), void* arg);

}  // namespace jr

#include "engine/clone_vm.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>

// long jr_clone3_call(clone_args* args, size_t size, int (*fn)(void*), void* arg):
// the clone3 system call; in the child (return value 0, on the new stack), fn(arg) then exit.
#if defined(__x86_64__)
asm(R"(
  .text
  .globl jr_clone3_call
  .type jr_clone3_call, @function
jr_clone3_call:
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jz 1f
  ret
1:
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
  .size jr_clone3_call, .-jr_clone3_call
  .section .note.GNU-stack,"",@progbits
  .text
)");
#define JR_HAVE_CLONE3_CALL 1
#elif defined(__aarch64__)
asm(R"(
  .text
  .globl jr_clone3_call
  .type jr_clone3_call, %function
jr_clone3_call:
  mov x10, x2
  mov x11, x3
  mov x8, #435
  svc #0
  cbz x0, 1f
  ret
1:
  mov x29, #0
  mov x30, #0
  mov x0, x11
  blr x10
  mov x8, #93
  svc #0
  brk #0
  .size jr_clone3_call, .-jr_clone3_call
  .section .note.GNU-stack,"",%progbits
  .text
)");
#define JR_HAVE_CLONE3_CALL 1
#endif

#ifdef JR_HAVE_CLONE3_CALL
extern "C" long jr_clone3_call(clone_args* args, std::size_t size, int (*fn)(void*), void* arg);
#endif

namespace jr {

pid_t clone_vm_into_cgroup(int cgroup_fd, void* stack, std::size_t stack_size, int (*child)(void*), void* arg) {
#ifdef JR_HAVE_CLONE3_CALL
  clone_args args{};
  args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<std::uint64_t>(stack);
  args.stack_size = stack_size;
  args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
  long r = jr_clone3_call(&args, sizeof args, child, arg);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return static_cast<pid_t>(r);
#else
  (void)cgroup_fd, (void)stack, (void)stack_size, (void)child, (void)arg;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace jr

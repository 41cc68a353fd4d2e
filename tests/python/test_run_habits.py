"""GNU parallel's habits in `jr run` (issue 16, section 3): inputs from standard input, -j forms,
{%}, --link and :::+, --halt, --dry-run, and the mistakes refused with one line before anything
runs (exit 2, no state written)."""

import json
import os
import pty
import select
import subprocess
import unittest

from support import TempDirTest, jr_bin, wait_for

class RunHabitsTest(TempDirTest):
    def jr(self, *args, stdin=subprocess.DEVNULL, input=None):
        kwargs = {"input": input} if input is not None else {"stdin": stdin}
        return subprocess.run([jr_bin(), *args], cwd=self.dir, capture_output=True, text=True, timeout=600, **kwargs)

    def run_ok(self, *args, **kwargs):
        done = self.jr(*args, **kwargs)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def tasks(self):
        done = self.run_ok("tasks", "1", "--state", self.state, "--json")
        return json.loads(done.stdout)["tasks"]

    def argvs(self):
        return sorted(t["argv"] for t in self.tasks())

    def refused(self, *args, message, stdin=subprocess.DEVNULL):
        done = self.jr("run", "--state", self.state, *args, stdin=stdin)
        self.assertEqual(done.returncode, 2, done.stderr)
        self.assertEqual(done.stderr, "jr run: " + message + "\n")
        self.assertFalse(os.path.exists(self.state), "a refused run wrote its state directory")

    # ---- inputs from standard input

    def test_a_pipe_on_stdin_is_the_input_source(self):
        self.run_ok("run", "--state", self.state, "--", "echo", input="a\nb c\n\n")
        self.assertEqual(self.argvs(), [["echo", ""], ["echo", "a"], ["echo", "b c"]])

    def test_replacement_strings_apply_to_stdin_inputs(self):
        self.run_ok("run", "--state", self.state, "--", "echo", "{.}", "{#}", input="x.gz\n")
        self.assertEqual(self.argvs(), [["echo", "x", "1"]])

    def test_empty_stdin_runs_nothing_and_writes_nothing(self):
        done = self.run_ok("run", "--state", self.state, "--", "echo", input="")
        self.assertEqual(done.stderr, "jr run: no inputs on standard input: nothing to run\n")
        self.assertFalse(os.path.exists(self.state))

    def test_dev_null_on_stdin_runs_the_command_once(self):
        self.run_ok("run", "--state", self.state, "--", "echo", "{}")
        self.assertEqual(self.argvs(), [["echo", "{}"]])

    def test_stdin_is_not_read_when_sources_are_given(self):
        self.run_ok("run", "--state", self.state, "--", "echo", ":::", "a", input="not read\n")
        self.assertEqual(self.argvs(), [["echo", "a"]])

    def test_a_terminal_on_stdin_says_so_and_runs_once(self):
        leader, follower = pty.openpty()
        self.addCleanup(os.close, leader)
        try:
            done = subprocess.run([jr_bin(), "run", "--state", self.state, "--", "echo", "hi"], cwd=self.dir,
                                  stdin=follower, capture_output=True, text=True, timeout=600)
        finally:
            os.close(follower)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("jr run: no inputs (:::, ::::, --tasks, or lines on standard input): running the command once\n",
                      done.stderr)
        self.assertEqual(self.argvs(), [["echo", "hi"]])

    # ---- -j

    def cpus(self):
        return int(self.run_ok("cpus").stdout)

    def test_j_forms_relative_to_the_usable_cpus(self):
        cpus = self.cpus()
        for form, expected in (("+1", cpus + 1), ("-1", max(1, cpus - 1)), ("50%", max(1, cpus // 2)), ("3", 3)):
            with self.subTest(form=form):
                state = os.path.join(self.dir, "state" + form)
                self.run_ok("run", "-j", form, "--state", state, "--", "echo", ":::", "a")
                done = self.run_ok("status", "--state", state, "--json")
                self.assertEqual(json.loads(done.stdout)["jobs"][0]["parallelism"], expected, done.stdout)

    def test_j_zero_is_refused(self):
        self.refused("-j", "0", "--", "echo", ":::", "a",
                     message="-j 0 (GNU parallel's \"as many as possible\") is not supported: give a number of "
                             "tasks at once, or 100% for one per CPU")

    # ---- {%}, --link, :::+

    def test_slot_is_the_worker_slot(self):
        self.run_ok("run", "-j", "2", "--state", self.state, "--", "sh", "-c", 'test "$0" = "$JR_SLOT"', "{%}",
                    "{}", ":::", "a", "b", "c", "d")
        self.assertEqual([t["state"] for t in self.tasks()], ["succeeded"] * 4)
        # What the task is (and how it is matched on resume) holds {%}, not a slot.
        self.assertEqual({t["argv"][3] for t in self.tasks()}, {"{%}"})

    def test_link_and_linked_sources(self):
        self.run_ok("run", "--link", "--state", self.state, "--", "echo", ":::", "a", "b", "c", ":::", "1", "2")
        self.assertEqual(self.argvs(), [["echo", "a", "1"], ["echo", "b", "2"], ["echo", "c", "1"]])
        state = os.path.join(self.dir, "linked")
        self.run_ok("run", "--state", state, "--", "echo", ":::", "a", "b", "c", ":::+", "1", "2")
        done = self.run_ok("tasks", "1", "--state", state, "--json")
        self.assertEqual(sorted(t["argv"] for t in json.loads(done.stdout)["tasks"]), [["echo", "a", "1"], ["echo", "b", "2"]])

    # ---- --halt

    HALT_TASK = ["sh", "-c", 'case $0 in fail) exit 1;; hold) while [ ! -e release ]; do sleep 0.05; done;; esac']

    def test_halt_now_interrupts_running_tasks_and_starts_no_more(self):
        done = self.jr("run", "-j", "2", "--halt", "now,fail=1", "--grace", "1s", "--state", self.state, "--",
                       *self.HALT_TASK, ":::", "fail", "hold", "later")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("jr run: halted (--halt now,fail=1): 0 succeeded, 1 failed, 1 interrupted, 1 not started; "
                      "run the same command again to resume\n", done.stderr)
        self.assertEqual([t["state"] for t in self.tasks()], ["failed", "interrupted", "pending"])

    def test_halt_soon_lets_running_tasks_end(self):
        jr = subprocess.Popen([jr_bin(), "run", "-j", "2", "--halt", "soon,fail=10%", "--state", self.state, "--",
                               *self.HALT_TASK, ":::", "fail", "hold", "later"],
                              cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        self.addCleanup(jr.kill)

        def failed_while_held():
            done = self.jr("tasks", "1", "--state", self.state, "--json")
            if done.returncode != 0:
                return False
            states = [t["state"] for t in json.loads(done.stdout)["tasks"]]
            return states[:2] == ["failed", "running"]

        wait_for(failed_while_held, what="the first task to fail while the second runs")
        open(os.path.join(self.dir, "release"), "w").close()
        out, err = jr.communicate(timeout=600)
        self.assertEqual(jr.returncode, 1, err)
        self.assertIn("jr run: halted (--halt soon,fail=10%): 1 succeeded, 1 failed, 0 interrupted, 1 not started", err)
        self.assertEqual([t["state"] for t in self.tasks()], ["failed", "succeeded", "pending"])

    def test_halt_is_checked_before_anything_runs(self):
        self.refused("--halt", "sometimes", "--", "echo", ":::", "a",
                     message="--halt 'sometimes': expected never, or soon|now,fail|success|done=N or =N% "
                             "(e.g. now,fail=1 or soon,fail=10%)")

    # ---- --dry-run

    def test_dry_run_prints_the_commands_and_writes_nothing(self):
        done = self.run_ok("run", "--dry-run", "-j", "2", "--state", self.state, "--", "echo", "{%}", "{}",
                           ":::", "a b", "c", "d")
        self.assertEqual(done.stdout, "echo 1 'a b'\necho 2 c\necho 1 d\n")
        self.assertFalse(os.path.exists(self.state))
        done = self.run_ok("run", "--dry-run", "--shell", "--state", self.state, "--", "echo {} | wc -c", ":::", "it's")
        self.assertEqual(done.stdout, "echo 'it'\\''s' | wc -c\n")
        self.assertFalse(os.path.exists(self.state))

    # ---- mistakes refused up front

    def test_unsupported_replacement_strings_are_refused(self):
        self.refused("--", "echo", "{3}", ":::", "a", ":::", "b", message="{3}: there are only 2 input sources")
        self.refused("--", "echo", "{= s/a/b/ =}", ":::", "a",
                     message="{= s/a/b/ =}: perl expressions are not supported by jr; compute the value in a shell "
                             "command (--shell) or in the inputs")
        self.refused("--", "echo", "{##}", ":::", "a",
                     message="{##} is not a replacement string jr supports; jr has {} {.} {/} {//} {/.} {#} {%} "
                             "{N} {N.} {N/} {N//} {N/.}")

    def test_a_missing_command_is_named_before_the_first_task(self):
        self.refused("--", "no-such-command-jr", "{}", ":::", "a", "b",
                     message="command not found: no-such-command-jr (not on PATH)")
        self.refused("--", "./nowhere", ":::", "a", message="command not found: ./nowhere")

    def test_under_shell_the_shell_resolves_the_command(self):
        done = self.jr("run", "--shell", "--state", self.state, "--", "no-such-command-jr", ":::", "a")
        self.assertEqual(done.returncode, 1, done.stderr)

    def test_a_shell_line_in_one_word_says_use_shell(self):
        self.refused("--", "echo {} > out_{}.txt", ":::", "a",
                     message="'echo {} > out_{}.txt' is one word holding shell syntax (>); to run it through a "
                             "shell, add --shell")
        self.run_ok("run", "--shell", "--state", self.state, "--", "echo {} > out_{}.txt", ":::", "a")
        with open(os.path.join(self.dir, "out_a.txt")) as f:
            self.assertEqual(f.read(), "a\n")


class LiveLineTest(TempDirTest):
    """Issue 16, section 4: the live line on a terminal (stderr) moves while tasks run, not only as they end."""

    def test_the_line_shows_running_tasks_before_any_ends(self):
        leader, follower = pty.openpty()
        self.addCleanup(os.close, leader)
        hold = 'while [ ! -e release ]; do sleep 0.05; done'
        jr = subprocess.Popen([jr_bin(), "run", "-j", "2", "--state", self.state, "--", "sh", "-c", hold, "{}",
                               ":::", "a", "b"], cwd=self.dir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=follower)
        os.close(follower)
        self.addCleanup(jr.kill)
        seen = bytearray()

        def shows_two_running():
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                seen.extend(os.read(leader, 4096))
            return b"[0/2] 2 running" in seen

        # No task ends before the release: only a tick can draw the running count.
        wait_for(shows_two_running, what="the live line to say 2 running")
        open(os.path.join(self.dir, "release"), "w").close()
        self.assertEqual(jr.wait(timeout=600), 0)


if __name__ == "__main__":
    unittest.main()

"""jr run against GNU parallel, word by word (issue 16): for every form below, each task's argv
as the program receives it (the number of words and each word) must be the same under both.

A recorder program appends its argv, NUL-separated after the word count, to $ARGV_LOG; both
tools run it one task at a time (-j1). Forms: every replacement string jr supports, one, two and
three sources, :::, ::::, :::+, ::::+, --link, standard input, appended inputs, and --shell (which
is GNU parallel's default mode: a line for the shell, values quoted). jr's argv mode never splits
a template word, where parallel's default mode hands template words to the shell: that mode is
compared with `parallel -q`, its equivalent. Forms jr refuses ({= perl =}, {3} with two sources,
--plus strings) are tested in test_run_habits.py, not here.

Skipped, with a message, when /usr/bin/parallel is missing (`make setup-test` installs it).
"""

import os
import subprocess
import unittest

from support import TempDirTest, jr_bin

PARALLEL = "/usr/bin/parallel"

RECORDER = """#!/bin/sh
printf '%s\\0' "$#" "$@" >> "$ARGV_LOG"
"""

# Inputs that a careless split, join or quote would change: spaces, quotes, a leading dash,
# shell syntax, an empty value, paths with several dots and trailing slashes.
ONE = ["dir.x/file.tar.gz", "with space.txt", "it's", "-n", "$(echo no);|&", "", "/abs/dir/", "plain"]
TWO = ["1", "b c"]
THREE = ["X.y", "z/"]


def read_records(path):
    """The argv of each recorded task, in the order they ran."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        fields = f.read().split(b"\0")[:-1]
    records, i = [], 0
    while i < len(fields):
        count = int(fields[i])
        records.append([w.decode() for w in fields[i + 1:i + 1 + count]])
        i += 1 + count
    return records


class DifferentialTest(TempDirTest):
    @classmethod
    def setUpClass(cls):
        if not os.access(PARALLEL, os.X_OK):
            raise unittest.SkipTest(f"GNU parallel is not installed at {PARALLEL} (make setup-test installs it)")

    def setUp(self):
        super().setUp()
        self.recorder = os.path.join(self.dir, "rec")
        with open(self.recorder, "w") as f:
            f.write(RECORDER)
        os.chmod(self.recorder, 0o755)
        self.count = 0

    def run_tool(self, argv, stdin_text):
        self.count += 1
        log = os.path.join(self.dir, f"argv.{self.count}")
        env = dict(os.environ, ARGV_LOG=log, HOME=self.dir)
        done = subprocess.run(argv, cwd=self.dir, env=env, input=stdin_text if stdin_text is not None else "",
                              capture_output=True, text=True, timeout=600)
        self.assertEqual(done.returncode, 0, f"{argv}: {done.stderr}")
        return read_records(log)

    def compare(self, template, inputs, jr_options=(), parallel_options=(), stdin_text=None):
        """Runs REC TEMPLATE… INPUTS… under both tools; the recorded argv must be equal."""
        words = [self.recorder, *template, *inputs]
        state = os.path.join(self.dir, f"state.{self.count}")
        jr_argv = [jr_bin(), "run", "-j", "1", "--state", state, *jr_options, "--", *words]
        parallel_argv = [PARALLEL, "--will-cite", "-j", "1", *parallel_options, *words]
        theirs = self.run_tool(parallel_argv, stdin_text)
        ours = self.run_tool(jr_argv, stdin_text)
        self.assertTrue(theirs, f"parallel ran nothing for {words}")
        # jr runs in input order with -j1; compared as sets of tasks all the same, so that the
        # test says which task differs rather than where the order does.
        self.assertEqual(sorted(ours), sorted(theirs), f"template {template} inputs {inputs} {jr_options}")
        self.assertEqual(len(ours), len(theirs))

    # Every template ends in {#} where it holds a replacement string, so that no two tasks are
    # identical whatever the transform (issue 16 section 2 is about identical tasks, not this).

    def test_each_replacement_string_one_source(self):
        for r in ["{}", "{.}", "{/}", "{//}", "{/.}", "{1}", "{1.}", "{1/}", "{1//}", "{1/.}", "{-1}", "{-1/.}",
                  "pre{}post", "{}{.}", "{%}"]:
            with self.subTest(replacement=r):
                self.compare([r, "{#}"], [":::", *ONE])

    def test_sequence_alone(self):
        self.compare(["{#}"], [":::", *ONE])

    def test_appended_inputs(self):
        self.compare(["fixed"], [":::", *ONE])
        self.compare([], [":::", *ONE, ":::", *TWO])
        self.compare(["a", "b"], [":::", *ONE, ":::", *TWO, ":::", *THREE])

    def test_two_sources(self):
        for template in (["{}"], ["{1}", "{2}"], ["{2/.}", "{1//}"], ["{-1}", "{-2}"], ["x{}y"], ["{.}"],
                         ["{/}"], ["{2}{1}"]):
            with self.subTest(template=template):
                self.compare([*template, "{#}"], [":::", *ONE, ":::", *TWO])

    def test_three_sources(self):
        for template in (["{3}", "{1}"], ["{}"], ["{2.}", "{3//}"], ["[{}]"], ["{-3}"]):
            with self.subTest(template=template):
                self.compare([*template, "{#}"], [":::", *ONE, ":::", *TWO, ":::", *THREE])

    def write_inputs(self, name, lines):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        return path

    def test_file_sources(self):
        one = self.write_inputs("one.txt", ONE)
        two = self.write_inputs("two.txt", TWO)
        self.compare(["{}", "{#}"], ["::::", one])
        self.compare(["{2}", "{1/}", "{#}"], ["::::", one, two])
        self.compare([], ["::::", one, ":::", *THREE])
        self.compare(["{}", "{#}"], ["::::", one, "::::+", two])

    def test_linked_sources(self):
        self.compare(["{}", "{#}"], [":::", *ONE, ":::+", *TWO])
        self.compare([], [":::", *TWO, ":::+", *ONE, ":::", *THREE])
        self.compare(["{1}", "{3}", "{#}"], [":::", *THREE, ":::", *ONE, ":::+", *TWO])
        self.compare(["{}", "{#}"], [":::", *ONE, ":::", *TWO, ":::", *THREE], jr_options=["--link"],
                     parallel_options=["--link"])

    def test_standard_input(self):
        text = "".join(line + "\n" for line in ONE)
        self.compare(["{}", "{#}"], [], stdin_text=text)
        self.compare([], [], stdin_text=text)
        self.compare(["{/.}", "{#}"], [], stdin_text=text)

    def test_shell_mode_is_parallels_default(self):
        # The template's words are shell text under both: joined by spaces, never quoted.
        for template in (["{}", "{#}"], ["{.}", "&&", self.recorder, "{/}", "{#}"], ["'a b'", "{#}"],
                         ["x{}y", "{#}", ";", "true"]):
            with self.subTest(template=template):
                self.compare(template, [":::", *ONE, ":::", *TWO], jr_options=["--shell"])

    def test_argv_mode_is_parallel_q(self):
        self.compare(["a b", "{}", "{#}"], [":::", *ONE], parallel_options=["-q"])
        self.compare(["it's {}", "{#}"], [":::", *ONE, ":::", *TWO], parallel_options=["-q"])


if __name__ == "__main__":
    unittest.main()

//! `certaudit completions SHELL`: each shell's script, and bash's run in a real bash to
//! complete subcommands and `--output` values.

use assert_cmd::Command;

fn script(shell: &str) -> String {
    let out = Command::cargo_bin("certaudit")
        .unwrap()
        .env_clear()
        .args(["completions", shell])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What bash's completion function offers for the words typed so far (the last one being
/// completed).
fn complete_in_bash(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let typed: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}' || exit 7\n\
         declare -F _certaudit >/dev/null || exit 8\n\
         COMP_WORDS=({})\n\
         COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _certaudit certaudit \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        typed.join(" ")
    );
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bash exited {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_subcommands_and_output_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("certaudit.bash");
    std::fs::write(&path, script("bash")).unwrap();
    let subcommands = complete_in_bash(&path, &["certaudit", ""]);
    for expected in ["scan", "doctor", "diff", "history", "completions"] {
        assert!(
            subcommands.iter().any(|w| w == expected),
            "{expected} in {subcommands:?}"
        );
    }
    let outputs = complete_in_bash(&path, &["certaudit", "scan", "--output", ""]);
    assert_eq!(outputs, ["table", "json", "ndjson", "csv", "html"]);
    let flags = complete_in_bash(&path, &["certaudit", "scan", "--his"]);
    assert_eq!(flags, ["--history"]);
}

#[test]
fn every_shell_gets_its_own_script() {
    assert!(script("zsh").starts_with("#compdef certaudit"));
    assert!(script("fish").contains("complete -c certaudit"));
    assert!(script("powershell").contains("Register-ArgumentCompleter"));
    let unknown = Command::cargo_bin("certaudit")
        .unwrap()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

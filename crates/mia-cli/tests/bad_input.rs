//! End-to-end: `mia score` on bad inputs exits with code 2 and prints exactly one line,
//! `error: ...`, naming the file and (where it applies) the row and the column — never a
//! panic, a backtrace or a usage dump.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A small valid Parquet file (4 records: id, member, label int64; logit_0, logit_1
/// float64), written by arrow-rs 60's ArrowWriter. Cut short, it is a truncated Parquet file.
const SMALL_PARQUET_HEX: &str = concat!(
    "504152311504154015404c15081500120000010000000000000002000000000000000300000000000000040000000000",
    "00001500151415142c150815101506150600000200000008010203e4001504152015204c150415001200000100000000",
    "00000000000000000000001500151215122c1508151015061506000002000000080101030a1504152015204c15041500",
    "120000000000000000000001000000000000001500151215122c15081510150615060000020000000801010306150415",
    "4015404c15081500120000000000000000f03f0000000000000040000000000000084000000000000010401500151415",
    "142c150815101506150600000200000008010203e4001504154015404c15081500120000000000000000f0bf00000000",
    "000000c000000000000008c000000000000010c01500151415142c150815101506150600000200000008010203e40019",
    "120219180801000000000000001918080400000000000000150219160029260008001912021918080000000000000000",
    "191808010000000000000015021916002926000800191202191808000000000000000019180801000000000000001502",
    "1916002926000800191202191808000000000000f03f1918080000000000001040150219160029260008191600001912",
    "0219180800000000000010c0191808000000000000f0bf15021916002926000819160000191c1664153616000000191c",
    "16d601153416000000191c16c602153416000000191c16d603153616000000191c16e8041536160000001502196c480c",
    "6172726f775f736368656d61150a001504250218026964001504250218066d656d626572001504250218056c6162656c",
    "00150a250218076c6f6769745f3000150a250218076c6f6769745f31001608191c195c26001c15041935000610191802",
    "696415001608169201169201266426081c18080400000000000000180801000000000000001600280804000000000000",
    "0018080100000000000000111100192c15041500150200150015101502003c3926000800001688081514169e05154600",
    "26001c150419350006101918066d656d626572150016081670167026d601269a011c1808010000000000000018080000",
    "00000000000016002808010000000000000018080000000000000000111100192c15041500150200150015101502003c",
    "392600080000169c08151616e40515460026001c150419350006101918056c6162656c150016081670167026c602268a",
    "021c18080100000000000000180800000000000000001600280801000000000000001808000000000000000011110019",
    "2c15041500150200150015101502003c39260008000016b208151616aa0615460026001c150a19350006101918076c6f",
    "6769745f301500160816920116920126d60326fa021c3600280800000000000010401808000000000000f03f11111600",
    "00192c15041500150200150015101502003c39260008000016c808151616f006154c0026001c150a1935000610191807",
    "6c6f6769745f311500160816920116920126e804268c041c36002808000000000000f0bf180800000000000010c01111",
    "160000192c15041500150200150015101502003c39260008000016de08151616bc07154c001696051608260816960514",
    "0000191c180c4152524f573a736368656d6118d8032f2f2f2f2f31674241414151414141414141414b41417741436741",
    "4a4141514143674141414241414141414141515141434141494141414142414149414141414241414141415541414144",
    "304141414173414141414877414141424541414141424141414144442f2f2f385141414141464141414141414141514d",
    "514141414177762f2f2f774141416741414141414142774141414778765a326c30587a45414541415741424141446741",
    "504141514141414149414241414141415941414141484141414141414141514d59414141414141414741416741426741",
    "4741414141414141434141414141414148414141416247396e615852664d4143672f2f2f2f4541414141426741414141",
    "414141454346414141414a442f2f2f39414141414141414141415141414141414641414141624746695a577741414144",
    "512f2f2f2f4541414141426741414141414141454346414141414d442f2f2f3941414141414141414141514141414141",
    "474141414162575674596d567941414151414251414541414f4141384142414141414167414541414141426741414141",
    "6741414141414141424168774141414149414177414241414c4141674141414241414141414141414141514141414141",
    "43414141416157514141413d3d001819706172717565742d72732076657273696f6e2036302e312e30195c1c00001c00",
    "001c00002c00002c0000009104000050415231",
);

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    s.chunks(2).map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap()).collect()
}

#[path = "../../mia-data/tests/support/npy.rs"]
mod npy_support;

/// A C-order .npy file with the given dtype descriptor, shape text and raw data.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    npy_support::raw_npy(descr, false, shape, data)
}

fn f64_npy(rows: usize, cols: Option<usize>, v: impl Fn(usize) -> f64) -> Vec<u8> {
    let n = rows * cols.unwrap_or(1);
    let data: Vec<u8> = (0..n).flat_map(|i| v(i).to_le_bytes()).collect();
    let shape = match cols {
        Some(c) => format!("({rows}, {c})"),
        None => format!("({rows},)"),
    };
    npy("<f8", &shape, &data)
}

fn i64_npy(v: &[i64]) -> Vec<u8> {
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    npy("<i8", &format!("({},)", v.len()), &data)
}

fn bool_npy(v: &[bool]) -> Vec<u8> {
    let data: Vec<u8> = v.iter().map(|&b| b as u8).collect();
    npy("|b1", &format!("({},)", v.len()), &data)
}

const HEAD: &str = "id,member,label,logit_0,logit_1\n";

fn csv(rows: &[&str]) -> String {
    let mut s = HEAD.to_string();
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

struct Case {
    name: &'static str,
    /// Files to write into the temp dir.
    files: Vec<(&'static str, Vec<u8>)>,
    /// Arguments after `mia score`; `@name` is replaced by the path of that file.
    args: Vec<String>,
    /// Text the error line must contain (besides "error:"), `@name` as above.
    expect: Vec<String>,
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn table_case(name: &'static str, file: &'static str, content: impl Into<Vec<u8>>, expect: &[&str]) -> Case {
    let mut e = vec![file.to_string()];
    e.extend(strings(expect));
    Case { name, files: vec![(file, content.into())], args: vec![format!("@{file}")], expect: e }
}

fn array_case(name: &'static str, files: Vec<(&'static str, Vec<u8>)>, with_ids: bool, expect: &[&str]) -> Case {
    let (files, args) = arrays(files, with_ids);
    Case { name, files, args: strings(&args), expect: strings(expect) }
}

#[allow(clippy::type_complexity)]
fn arrays(files: Vec<(&'static str, Vec<u8>)>, with_ids: bool) -> (Vec<(&'static str, Vec<u8>)>, Vec<&'static str>) {
    let mut args = vec!["--logits", "@logits.npy", "--labels", "@labels.npy", "--member", "@member.npy"];
    if with_ids {
        args.extend(["--ids", "@ids.npy"]);
    }
    // Defaults: 4 valid records; `files` overrides by name.
    let mut all: Vec<(&'static str, Vec<u8>)> = vec![
        ("logits.npy", f64_npy(4, Some(2), |i| i as f64 * 0.5)),
        ("labels.npy", i64_npy(&[0, 1, 1, 0])),
        ("member.npy", bool_npy(&[true, false, true, false])),
        ("ids.npy", i64_npy(&[10, 11, 12, 13])),
    ];
    for (n, b) in files {
        match all.iter_mut().find(|(m, _)| *m == n) {
            Some(slot) => slot.1 = b,
            None => all.push((n, b)),
        }
    }
    (all, args)
}

fn cases() -> Vec<Case> {
    let pq = hex(SMALL_PARQUET_HEX);
    let mut v = vec![
        table_case("missing column", "s.csv", "id,label,logit_0,logit_1\na,0,1,2\n", &["\"member\""]),
        table_case(
            "duplicate column",
            "s.csv",
            "id,member,label,logit_0,logit_1,label\na,1,0,1,2,0\n",
            &["\"label\"", "duplicate"],
        ),
        table_case("non-numeric cell", "s.csv", csv(&["a,1,0,1,2", "b,0,1,1,abc"]), &["row 2", "\"logit_1\"", "abc"]),
        table_case("NaN", "s.csv", csv(&["a,1,0,1,2", "b,0,1,NaN,2"]), &["row 2", "\"logit_0\"", "NaN"]),
        table_case("inf", "s.csv", csv(&["a,1,0,1,2", "b,0,1,1,2", "c,0,1,1,-inf"]), &["row 3", "\"logit_1\"", "inf"]),
        table_case("label out of range", "s.csv", csv(&["a,1,0,1,2", "b,0,2,1,2"]), &["row 2", "\"label\"", "0..2"]),
        table_case("non-integer label", "s.csv", csv(&["a,1,1.5,1,2"]), &["row 1", "\"label\"", "1.5"]),
        table_case(
            "member value 2",
            "s.csv",
            csv(&["a,1,0,1,2", "b,0,1,1,2", "c,2,1,1,2"]),
            &["row 3", "\"member\"", "\"2\""],
        ),
        table_case("no members", "s.csv", csv(&["a,0,0,1,2", "b,0,1,1,2"]), &["0 member(s)", "2 non-member(s)"]),
        table_case("no non-members", "s.csv", csv(&["a,1,0,1,2", "b,1,1,1,2"]), &["2 member(s)", "0 non-member(s)"]),
        table_case(
            "duplicate ids",
            "s.csv",
            csv(&["a,1,0,1,2", "b,0,1,1,2", "a,0,1,1,2"]),
            &["rows 1 and 3", "\"id\"", "\"a\""],
        ),
        table_case("empty file", "s.csv", "", &["empty"]),
        table_case("header only", "s.csv", HEAD, &["no data rows"]),
        table_case(
            "negative probability",
            "p.csv",
            "id,member,label,prob_0,prob_1\na,1,0,-0.2,1.2\n",
            &["row 1", "\"prob_0\"", "-0.2"],
        ),
        table_case(
            "probabilities not summing to 1",
            "p.csv",
            "id,member,label,prob_0,prob_1\na,1,0,0.5,0.5\nb,0,1,0.3,0.3\n",
            &["row 2", "\"prob_0\"..\"prob_1\"", "tolerance"],
        ),
        table_case("ragged row", "s.csv", csv(&["a,1,0,1,2", "b,0,1,1"]), &["row 2", "expected 5 fields"]),
        table_case("truncated parquet", "t.parquet", pq[..pq.len() / 2].to_vec(), &["truncated"]),
        table_case(
            "corrupt parquet",
            "c.parquet",
            (0..512u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<u8>>(),
            &["not a Parquet file"],
        ),
        table_case("gz that is not gzip", "s.csv.gz", csv(&["a,1,0,1,2", "b,0,1,1,2"]), &["not a gzip file"]),
        table_case("unknown extension", "s.xlsx", csv(&["a,1,0,1,2", "b,0,1,1,2"]), &[".csv"]),
    ];

    v.push(array_case(
        "npy wrong dtype (string logits)",
        vec![("logits.npy", npy("<U3", "(4, 2)", &[0u8; 96]))],
        false,
        &["logits.npy", "float", "str"],
    ));
    v.push(array_case(
        "npy wrong dtype (float labels)",
        vec![("labels.npy", f64_npy(4, None, |i| i as f64))],
        false,
        &["labels.npy", "integer", "float64"],
    ));
    v.push(array_case(
        "npy wrong shape (1-D logits)",
        vec![("logits.npy", f64_npy(4, None, |i| i as f64))],
        false,
        &["logits.npy", "2-D", "(4,)"],
    ));
    v.push(array_case(
        "arrays of different lengths",
        vec![("member.npy", bool_npy(&[true, false, true]))],
        true,
        &["logits.npy", "4", "member.npy", "3"],
    ));
    v.push(array_case(
        "npy NaN",
        vec![("logits.npy", f64_npy(4, Some(2), |i| if i == 5 { f64::NAN } else { 1.0 }))],
        true,
        &["logits.npy", "row 3", "NaN"],
    ));
    v.push(array_case(
        "npy duplicate ids",
        vec![("ids.npy", i64_npy(&[1, 2, 3, 2]))],
        true,
        &["ids.npy", "rows 2 and 4"],
    ));
    v.push(Case { name: "unknown flag", files: vec![], args: strings(&["--bogus"]), expect: strings(&["--bogus"]) });
    v.extend(limit_cases());
    v.push(Case {
        name: "nonexistent file",
        files: vec![],
        args: strings(&["@nosuch.csv"]),
        expect: strings(&["nosuch.csv"]),
    });
    v
}

/// Eight valid records (four members), for options checked against a readable input.
fn valid_csv() -> String {
    csv(&["a,1,0,2,1", "b,1,1,0,3", "c,1,0,1,1", "d,1,1,1,2", "e,0,0,1,2", "f,0,1,2,1", "g,0,0,0,0", "h,0,1,3,1"])
}

/// A gzip-compressed score file whose second line is one byte longer than the line limit
/// (64 MiB of zeros compress to about 64 KB).
fn long_line_gz() -> Vec<u8> {
    use std::io::Write;
    let limit = 64usize << 20;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(HEAD.as_bytes()).unwrap();
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..limit >> 20 {
        gz.write_all(&zeros).unwrap();
    }
    gz.write_all(b"0\n").unwrap();
    gz.finish().unwrap()
}

/// Counts, sizes and settings outside what the input allows, and settings that would be
/// recorded without effect.
fn limit_cases() -> Vec<Case> {
    let with = |name: &'static str, extra: &[&str], expect: &[&str]| {
        let mut args = vec!["@s.csv".to_string()];
        args.extend(strings(extra));
        Case { name, files: vec![("s.csv", valid_csv().into_bytes())], args, expect: strings(expect) }
    };
    vec![
        table_case(
            "line longer than the limit",
            "long.csv.gz",
            long_line_gz(),
            &["line 2 is longer than 67108864 bytes"],
        ),
        with("--slices of an unknown attack", &["--slices", "nosuch"], &["--slices", "\"nosuch\"", "loss", "none"]),
        with(
            "--slices of an attack that did not run",
            &["--attacks", "loss", "--slices", "entropy"],
            &["--slices", "\"entropy\"", "did not run", "loss"],
        ),
        with("--rmia-gamma 0", &["--rmia-gamma", "0"], &["--rmia-gamma", "'0'", "positive"]),
        with("--rmia-a 2", &["--rmia-a", "2"], &["--rmia-a", "'2'", "[0, 1]"]),
        with("--folds above the records", &["--folds", "100000"], &["--folds = 100000", "2 to 8"]),
        with("--bootstrap too large", &["--bootstrap", "1000000000000"], &["--bootstrap = 1000000000000", "100000"]),
        Case {
            name: "a score file and --logits",
            files: vec![("s.csv", valid_csv().into_bytes()), ("logits.npy", f64_npy(4, Some(2), |i| i as f64))],
            args: strings(&["@s.csv", "--logits", "@logits.npy", "--labels", "l.npy", "--member", "m.npy"]),
            expect: strings(&["[FILE]", "cannot be used with", "--logits", "--labels", "--member"]),
        },
    ]
}

fn resolve(arg: &str, dir: &Path) -> String {
    match arg.strip_prefix('@') {
        Some(name) => dir.join(name).display().to_string(),
        None => arg.to_string(),
    }
}

fn run(dir: &Path, args: &[String]) -> (Option<i32>, String, String) {
    let out: PathBuf = dir.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_mia"))
        .arg("score")
        .args(args)
        .arg("-o")
        .arg(&out)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run mia");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn bad_inputs_exit_2_with_one_line_error() {
    let cases = cases();
    assert!(cases.len() >= 22);
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &case.files {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let args: Vec<String> = case.args.iter().map(|a| resolve(a, dir.path())).collect();
        let (code, _stdout, stderr) = run(dir.path(), &args);
        let msg = stderr.trim();
        if std::env::var_os("SHOW_ERRORS").is_some() {
            eprintln!("[{}] {msg}", case.name);
        }
        let mut problems = Vec::new();
        if code != Some(2) {
            problems.push(format!("exit code {code:?}, expected 2"));
        }
        if msg.is_empty() {
            problems.push("stderr is empty".to_string());
        } else if msg.lines().count() != 1 {
            problems.push(format!("stderr has {} lines, expected 1", msg.lines().count()));
        }
        if !msg.starts_with("error:") {
            problems.push("stderr does not start with \"error:\"".to_string());
        }
        if msg.contains("panicked") {
            problems.push("stderr mentions a panic".to_string());
        }
        for want in &case.expect {
            let want = resolve(want, dir.path());
            if !msg.contains(want.as_str()) {
                problems.push(format!("stderr lacks {want:?}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("[{}] {}\n    stderr: {:?}", case.name, problems.join("; "), stderr));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_thread_count_far_above_the_cores_is_capped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.csv");
    std::fs::write(&file, valid_csv()).unwrap();
    let args: Vec<String> = vec![file.display().to_string(), "--threads".into(), "5000".into()];
    let (code, _stdout, stderr) = run(dir.path(), &args);
    assert_eq!(code, Some(0), "{stderr}");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let want = format!("--threads 5000 capped at {} (4 × the {cores} cores available)", 4 * cores);
    assert!(stderr.contains(&want), "{stderr}");
}

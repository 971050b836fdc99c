//! `mia_data::tabular` on bad input: every error is one line naming the file (and the row and
//! column where there is one); `skip_invalid_rows` counts what it skips; mutated files never
//! make the reader panic.

use std::io::Write;
use std::path::Path;

use mia_data::DataError;
use mia_data::tabular::{ColumnValues, Encoding, Table, TableOptions, TableSchema, load_table};
use serde_json::{Value, json};

fn schema(v: Value) -> TableSchema {
    serde_json::from_value(v).unwrap()
}

/// `{"path": "t.csv", ...extra}`.
fn with(extra: Value) -> TableSchema {
    let mut v = json!({ "path": "t.csv" });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    schema(v)
}

fn strict() -> TableOptions {
    TableOptions::default()
}
fn lenient() -> TableOptions {
    TableOptions { skip_invalid_rows: true, ..TableOptions::default() }
}

fn check_one_line(e: &DataError) -> String {
    let s = e.to_string();
    assert!(!s.trim().is_empty(), "empty message: {e:?}");
    assert!(!s.contains('\n') && !s.contains('\r'), "multi-line message: {s:?}");
    s
}

/// Writes `content` as `name` in a temp dir and loads it with `s` (whose path is relative).
fn load_bytes(name: &str, content: &[u8], s: &TableSchema, opts: &TableOptions) -> Result<Table, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), content).unwrap();
    load_table(s, dir.path(), opts).map_err(|e| check_one_line(&e).replace(&format!("{}/", dir.path().display()), ""))
}

fn ok(content: &str, s: &TableSchema) -> Table {
    load_bytes("t.csv", content.as_bytes(), s, &strict()).unwrap_or_else(|e| panic!("unexpected error: {e}"))
}

fn err(content: &str, s: &TableSchema) -> String {
    match load_bytes("t.csv", content.as_bytes(), s, &strict()) {
        Ok(t) => panic!("expected an error for {content:?}, got {} rows", t.len()),
        Err(e) => e,
    }
}

fn basic() -> TableSchema {
    with(json!({ "label": "y", "numeric": ["a"], "categorical": ["c"] }))
}

const GOOD: &str = "a,c,y\n1,x,p\n2,y,q\n3,x,p\n";

#[test]
fn a_good_small_table() {
    let t = ok(GOOD, &basic());
    assert_eq!(t.len(), 3);
    assert_eq!(t.ids, ["1", "2", "3"]);
    assert_eq!(t.classes, ["p", "q"]);
    assert_eq!(t.labels, [0, 1, 0]);
    assert_eq!(t.inputs.len(), 1);
    assert_eq!(t.inputs[0].bytes, GOOD.len() as u64);
    // CRLF, a BOM, blank lines and whitespace are fine.
    let t = ok("\u{feff}a , c,y\r\n 1, x ,p\r\n\r\n2,y,q\r\n", &basic());
    assert_eq!(t.len(), 2);
    assert_eq!(t.column("c").unwrap().values, ok("a,c,y\n1,x,p\n2,y,q\n", &basic()).column("c").unwrap().values);
}

#[test]
fn missing_file_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_table(&with(json!({ "label": "y", "numeric": "rest" })), dir.path(), &strict()).unwrap_err();
    let msg = check_one_line(&e);
    assert!(msg.ends_with("t.csv: cannot read: no such file"), "{msg}");
    let s = schema(json!({ "path": "t.data", "label": "y", "numeric": ["a"], "categorical": "rest" }));
    let msg = load_bytes("t.data", GOOD.as_bytes(), &s, &strict()).unwrap_err();
    assert!(msg.contains("t.data: unsupported file type") && msg.contains("format = \"csv\""), "{msg}");
    let mut s2 = s.clone();
    s2.format = Some(mia_data::tabular::DataFormat::Csv);
    assert_eq!(load_bytes("t.data", GOOD.as_bytes(), &s2, &strict()).unwrap().len(), 3);
    let s = schema(json!({ "path": "t.csv.gz", "label": "y", "numeric": "rest" }));
    let msg = load_bytes("t.csv.gz", GOOD.as_bytes(), &s, &strict()).unwrap_err();
    assert_eq!(
        msg,
        "t.csv.gz: not a gzip file (it does not start with the gzip magic bytes 1f 8b); if it is plain CSV, name it .csv"
    );
    // Gzip is detected whatever the name with format = "csv", and by name with .csv.gz.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(GOOD.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let s = schema(json!({ "path": "t.csv.gz", "label": "y", "numeric": ["a"], "categorical": "rest" }));
    assert_eq!(load_bytes("t.csv.gz", &gz, &s, &strict()).unwrap().len(), 3);
    let msg = load_bytes("t.csv.gz", &gz[..gz.len() / 2], &s, &strict()).unwrap_err();
    assert!(msg.starts_with("t.csv.gz: ") && msg.contains("gzip"), "{msg}");
    // A directory.
    let s = schema(json!({ "path": ".", "format": "csv", "label": "y", "numeric": "rest" }));
    let msg = check_one_line(&load_table(&s, dir.path(), &strict()).unwrap_err());
    assert!(msg.contains("is a directory"), "{msg}");
}

#[test]
fn unknown_columns_are_named_with_the_known_ones() {
    let s = with(json!({ "label": "y", "numeric": ["a", "agee"], "categorical": ["c"] }));
    assert_eq!(
        err(GOOD, &s),
        "t.csv: missing required column \"agee\" (named by `numeric` in [data]); columns found: \"a\", \"c\", \"y\""
    );
    let s = with(json!({ "label": "label", "numeric": "rest" }));
    assert!(err(GOOD, &s).starts_with("t.csv: missing required column \"label\" (named by `label` in [data])"));
    // Headerless: the message says how columns are named.
    let s = with(json!({ "header": false, "label": "y", "numeric": "rest" }));
    let msg = err("1,x,p\n", &s);
    assert!(
        msg.contains("columns are named by 0-based position \"0\"..\"2\"") && msg.contains("\"0\", \"1\", \"2\""),
        "{msg}"
    );
    for (role, v) in
        [("id", json!({"id": "key"})), ("member", json!({"member": "m"})), ("ignore", json!({"ignore": ["z"]}))]
    {
        let mut s = basic();
        let extra: TableSchema = {
            let mut base = serde_json::to_value(&s).unwrap();
            for (k, x) in v.as_object().unwrap() {
                base[k] = x.clone();
            }
            serde_json::from_value(base).unwrap()
        };
        s = extra;
        assert!(err(GOOD, &s).contains(&format!("(named by `{role}` in [data])")), "{role}");
    }
}

#[test]
fn schema_conflicts() {
    let e = err(GOOD, &with(json!({ "label": "y", "numeric": "rest", "categorical": "rest" })));
    assert_eq!(e, "t.csv: [data]: only one of `numeric` and `categorical` can be \"rest\"");
    let e = err(GOOD, &with(json!({ "label": "y", "numeric": ["a", "y"] })));
    assert_eq!(e, "t.csv: [data]: column \"y\" cannot be both `label` and `numeric`: give each column one role");
    let e = err(GOOD, &with(json!({ "label": "y", "numeric": ["a"], "categorical": ["a"] })));
    assert!(e.contains("cannot be both `numeric` and `categorical`"), "{e}");
    let e = err(GOOD, &with(json!({ "label": "y", "numeric": ["a", "a"] })));
    assert!(e.contains("`numeric` lists column \"a\" twice"), "{e}");
    let e = err(GOOD, &with(json!({ "label": "y" })));
    assert!(e.contains("no feature columns"), "{e}");
    let e = err(GOOD, &with(json!({ "label": "y", "numeric": "rest", "names": ["a", "c", "y"] })));
    assert!(e.contains("`names` is for a CSV without a header row"), "{e}");
    let e = err(GOOD, &with(json!({ "label": "y", "numeric": "rest", "delimiter": "\"" })));
    assert!(e.contains("delimiter"), "{e}");
    let e = err(GOOD, &with(json!({ "label": "y", "numeric": "rest", "classes": ["p"] })));
    assert!(e.contains("at least two classes"), "{e}");
    let e = err("a,a,y\n1,2,p\n", &with(json!({ "label": "y", "numeric": "rest" })));
    assert_eq!(e, "t.csv: duplicate column \"a\" in the header (columns 1 and 2)");
    // Unused columns are noted.
    let t = ok("a,b,c,y\n1,2,x,p\n2,3,y,q\n", &basic());
    assert!(t.notes.iter().any(|n| n.contains("1 column(s) not used") && n.contains("\"b\"")), "{:?}", t.notes);
}

#[test]
fn bad_numeric_cell_names_file_row_line_and_column() {
    let e = err("a,c,y\n1,x,p\n\n2.5e,y,q\n", &basic());
    assert_eq!(
        e,
        "t.csv: row 2 (line 4), column \"a\": expected a finite number or a missing-value token (\"\", \"?\", \"NA\"), found \"2.5e\""
    );
    let e = err("a,c,y\n1,x,p\ninf,y,q\n", &basic());
    assert!(e.starts_with("t.csv: row 2 (line 3), column \"a\": expected a finite number"), "{e}");
    // Headerless: row = line.
    let s = with(json!({ "header": false, "label": "2", "numeric": ["0"], "categorical": ["1"] }));
    let e = err("1,x,p\nabc,y,q\n", &s);
    assert!(e.starts_with("t.csv: row 2 (line 2), column \"0\": expected a finite number"), "{e}");
    // Missing tokens are fine and become NaN; custom tokens replace the defaults.
    let t = ok("a,c,y\n?,x,p\nNA,y,q\n,x,p\n4,x,q\n", &basic());
    let ColumnValues::Numeric(a) = &t.column("a").unwrap().values else { panic!() };
    assert!(a[..3].iter().all(|v| v.is_nan()) && a[3] == 4.0);
    let mut s = basic();
    s.missing = vec!["-".into()];
    let e = err("a,c,y\n?,x,p\n", &s);
    assert!(e.contains("missing-value token (\"-\")") && e.contains("found \"?\""), "{e}");
    // Without trimming, " 1" is not a number.
    let mut s = basic();
    s.trim = false;
    assert!(err("a,c,y\n 1,x,p\n", &s).contains("found \" 1\""));
}

#[test]
fn other_bad_cells() {
    let s = with(json!({ "label": "y", "id": "id", "member": "m", "numeric": ["a"] }));
    let e = err("id,m,a,y\nr1,1,1,p\nr2,yes,2,q\n", &s);
    assert_eq!(e, "t.csv: row 2 (line 3), column \"m\": expected 0/1 or true/false, found \"yes\"");
    let e = err("id,m,a,y\nr1,1,1,p\n,0,2,q\n", &s);
    assert!(e.starts_with("t.csv: row 2 (line 3), column \"id\": expected a record id"), "{e}");
    let e = err("id,m,a,y\nr1,1,1,p\nr2,0,2,?\n", &s);
    assert_eq!(e, "t.csv: row 2 (line 3), column \"y\": expected a class label, not a missing value, found \"?\"");
    let mut s2 = s.clone();
    s2.classes = Some(vec!["p".into(), "q".into()]);
    let e = err("id,m,a,y\nr1,1,1,p\nr2,0,2,z\n", &s2);
    assert_eq!(e, "t.csv: row 2 (line 3), column \"y\": expected one of the `classes` (\"p\", \"q\"), found \"z\"");
    // Given classes fix the order.
    s2.classes = Some(vec!["q".into(), "p".into()]);
    let t = ok("id,m,a,y\nr1,1,1,p\nr2,0,2,q\n", &s2);
    assert_eq!(t.labels, [1, 0]);
    assert_eq!(t.member, Some(vec![true, false]));
    assert_eq!(t.ids, ["r1", "r2"]);
}

#[test]
fn class_order_is_numeric_aware() {
    let s = with(json!({ "label": "y", "numeric": ["a"] }));
    let t = ok("a,y\n1,10\n2,2\n3,1\n4,b\n5,10\n6,A\n", &s);
    assert_eq!(t.classes, ["1", "2", "10", "A", "b"]);
    assert_eq!(t.labels, [2, 1, 0, 4, 2, 3]);
}

#[test]
fn one_class_empty_ragged_duplicates() {
    let e = err("a,c,y\n1,x,p\n2,y,p\n", &basic());
    assert_eq!(e, "t.csv: column \"y\" (label): expected at least two classes, found only \"p\" in 2 row(s)");
    assert_eq!(err("", &basic()), "t.csv: file is empty: expected CSV rows");
    assert_eq!(err("a,c,y\n", &basic()), "t.csv: no data rows: the file has a header but no records");
    assert!(err("\n\n", &basic()).starts_with("t.csv: no rows"));
    let e = err("a,c,y\n1,x,p\n2,y\n", &basic());
    assert_eq!(e, "t.csv: row 2 (line 3): expected 3 fields as in the header, found 2");
    let s = with(json!({ "header": false, "names": ["a", "c", "y"], "label": "y", "numeric": ["a"] }));
    let e = err("1,x,p,9\n", &s);
    assert_eq!(e, "t.csv: row 1 (line 1): expected 3 fields as listed in `names`, found 4");
    let s = with(json!({ "header": false, "label": "2", "numeric": ["0"] }));
    let e = err("1,x,p\n2,y,q\n3,z\n", &s);
    assert_eq!(e, "t.csv: row 3 (line 3): expected 3 fields as in the first row, found 2");
    let s = with(json!({ "label": "y", "id": "id", "numeric": ["a"] }));
    let e = err("id,a,y\nk1,1,p\nk2,2,q\nk1,3,q\n", &s);
    assert_eq!(e, "t.csv: rows 1 and 3, column \"id\": expected unique record ids, found \"k1\" twice");
}

#[test]
fn skipping_counts_reasons() {
    let s = with(json!({ "label": "y", "id": "id", "member": "m", "numeric": ["a"], "categorical": ["c"] }));
    let text = "id,m,a,c,y\n\
        r1,1,1,x,p\n\
        r2,2,1,x,p\n\
        r3,0,abc,x,q\n\
        r4,0,1,x\n\
        ,1,3,x,q\n\
        r6,0,4,new,?\n\
        r7,0,5,y,q\n";
    let t = load_bytes("t.csv", text.as_bytes(), &s, &lenient()).unwrap();
    assert_eq!(t.ids, ["r1", "r7"]);
    assert_eq!(t.source_rows, [1, 7]);
    assert_eq!(t.rows_read, 7);
    assert_eq!(t.n_skipped(), 5);
    let reasons: Vec<(String, usize)> = t.skipped.iter().map(|s| (s.reason.clone(), s.count)).collect();
    assert_eq!(
        reasons,
        [
            ("member not 0/1 or true/false".to_string(), 1),
            ("missing id".to_string(), 1),
            ("missing label".to_string(), 1),
            ("numeric value not a number".to_string(), 1),
            ("wrong number of fields".to_string(), 1),
        ]
    );
    // Skipped rows leave no categories behind.
    let ColumnValues::Categorical(c) = &t.column("c").unwrap().values else { panic!() };
    assert_eq!(c.values, ["x", "y"]);
    // Everything skipped, or one class left.
    let e = load_bytes("t.csv", b"a,c,y\nz,x,p\nw,y,q\n", &basic(), &lenient()).unwrap_err();
    assert_eq!(e, "t.csv: all 2 data rows were skipped as invalid (numeric value not a number: 2)");
    let e = load_bytes("t.csv", b"a,c,y\n1,x,p\nw,y,q\n", &basic(), &lenient()).unwrap_err();
    assert!(e.ends_with("found only \"p\" in 1 row(s) after skipping 1 invalid row(s)"), "{e}");
    // Structural errors stay errors.
    let s = with(json!({ "label": "y", "id": "id", "numeric": ["a"] }));
    let e = load_bytes("t.csv", b"id,a,y\nk,1,p\nk,2,q\n", &s, &lenient()).unwrap_err();
    assert!(e.contains("expected unique record ids"), "{e}");
}

#[test]
fn encoding_rules_on_small_tables() {
    let s = with(json!({ "label": "y", "numeric": ["a", "k"], "categorical": ["c"] }));
    let t = ok("k,a,c,y\n7,1,x,p\n7,?,y,q\n7,3,?,p\n7,4,z,q\n", &s);
    // Fit on rows 0..3: a = {1, 3} (missing skipped), mean 2, std 1; k constant; c = {?, x, y}.
    let e = Encoding::fit(&t, &s, &[0, 1, 2]).unwrap();
    assert_eq!(e.feature_names(), ["k", "a", "c=?", "c=x", "c=y"]);
    let x = e.transform(&t).unwrap();
    let rows: Vec<Vec<f32>> = x.rows().into_iter().map(|r| r.to_vec()).collect();
    assert_eq!(
        rows,
        [
            vec![0.0, -1.0, 0.0, 1.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.0, 1.0], // missing a -> 0
            vec![0.0, 1.0, 1.0, 0.0, 0.0],
            vec![0.0, 2.0, 0.0, 0.0, 0.0], // "z" unseen -> zeros
        ]
    );
    let sub = e.transform_rows(&t, &[3, 0]).unwrap();
    assert_eq!(sub.row(0).to_vec(), rows[3]);
    assert_eq!(sub.row(1).to_vec(), rows[0]);
    let mut raw = s.clone();
    raw.standardize = false;
    let x = Encoding::fit(&t, &raw, &[0, 1, 2]).unwrap().transform(&t).unwrap();
    assert_eq!(x.column(1).to_vec(), [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(x.column(0).to_vec(), [7.0; 4]);
    // No fitting rows: mean 0, scale 1, no categories.
    let e0 = Encoding::fit(&t, &s, &[]).unwrap();
    assert_eq!(e0.feature_names(), ["k", "a"]);
    // Bad row indices and mismatched tables are errors, not panics.
    let msg = Encoding::fit(&t, &s, &[4]).unwrap_err().to_string();
    assert!(msg.contains("record index 4 out of range for a table of 4 records"), "{msg}");
    assert!(e.transform_rows(&t, &[9]).is_err());
    let other = ok("a,c,y\n1,x,p\n2,y,q\n", &basic());
    let msg = e.transform(&other).unwrap_err().to_string();
    assert!(msg.contains("missing required column \"k\" (a feature column of the fitted encoding)"), "{msg}");
    let swapped = ok("k,a,c,y\n7,1,2,p\n7,2,3,q\n", &with(json!({ "label": "y", "numeric": ["a", "k", "c"] })));
    let msg = e.transform(&swapped).unwrap_err().to_string();
    assert!(msg.contains("column \"c\": expected a categorical column"), "{msg}");
    // A hand-edited encoding with a bad scale is refused.
    let mut bad: Value = serde_json::to_value(&e).unwrap();
    bad["features"][0]["scale"] = json!(0.0);
    let bad: Encoding = serde_json::from_value(bad).unwrap();
    assert!(bad.transform(&t).unwrap_err().to_string().contains("positive finite scale"));
}

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    const INTERESTING: &[&[u8]] =
        &[b",", b"\"", b"\n", b"\r", b"?", b"NA", b"", b"nan", b"1e999", b"-", b"\xff", b" ", b"k1"];
    let mut d = data.to_vec();
    for _ in 0..1 + rng.below(3) {
        match rng.below(5) {
            0 => d.truncate(rng.below(d.len() + 1)),
            1 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(d.len() + 1);
                let s = INTERESTING[rng.below(INTERESTING.len())];
                d.splice(i..i, s.iter().copied());
            }
            3 if d.len() > 2 => {
                let i = rng.below(d.len() - 1);
                let j = (i + 1 + rng.below(8)).min(d.len());
                d.drain(i..j);
            }
            _ => {
                // Duplicate a line.
                let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
                let l = lines[rng.below(lines.len())];
                d.extend_from_slice(l);
                d.push(b'\n');
            }
        }
    }
    d
}

#[test]
fn mutated_csvs_never_panic() {
    let base = b"id,m,a,c,y\nk1,1,1.5,x,p\nk2,0,?,y,q\nk3,true,3,?,p\nk4,false,-4e2,z,q\n";
    let schemas = [
        with(json!({ "label": "y", "id": "id", "member": "m", "numeric": ["a"], "categorical": "rest" })),
        with(json!({ "label": "y", "numeric": "rest", "ignore": ["c", "id"], "classes": ["p", "q"] })),
        with(json!({ "header": false, "label": "4", "categorical": "rest" })),
        with(json!({
            "header": false,
            "names": ["i", "m", "a", "c", "y"],
            "label": "y",
            "numeric": ["a"],
            "categorical": ["c", "m"],
        })),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut oks, mut errs) = (0, 0);
    for i in 0..3000 {
        let d = mutate(&mut rng, base);
        std::fs::write(&path, &d).unwrap();
        let s = &schemas[i % schemas.len()];
        for opts in [strict(), lenient()] {
            match load_table(s, dir.path(), &opts) {
                Ok(t) => {
                    oks += 1;
                    assert_eq!(t.ids.len(), t.len());
                    assert_eq!(t.rows_read, t.len() + t.n_skipped());
                    let e = Encoding::fit_all(&t, s).unwrap();
                    let x = e.transform(&t).unwrap();
                    assert!(x.iter().all(|v| v.is_finite()));
                }
                Err(e) => {
                    errs += 1;
                    let m = check_one_line(&e);
                    assert!(m.contains("t.csv") || m.starts_with(dir.path().to_str().unwrap()), "{m}");
                }
            }
        }
    }
    assert!(oks > 100 && errs > 100, "{oks} ok, {errs} errors");
}

#[test]
fn mutated_gzip_never_panics() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"a,c,y\n1,x,p\n2,y,q\n3,x,p\n4,z,q\n").unwrap();
    let base = gz.finish().unwrap();
    let s = schema(json!({ "path": "t.csv.gz", "label": "y", "numeric": ["a"], "categorical": ["c"] }));
    let mut rng = Rng(42);
    for _ in 0..500 {
        let d = mutate(&mut rng, &base);
        if let Err(e) = load_bytes("t.csv.gz", &d, &s, &lenient()) {
            assert!(e.starts_with("t.csv.gz: "), "{e}");
        }
    }
}

#[cfg(feature = "parquet")]
#[test]
fn mutated_parquet_never_panics() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/tabular/adult_sample.parquet");
    let base = std::fs::read(p).unwrap();
    let s = schema(json!({
        "path": "t.parquet", "label": "income", "id": "id", "member": "member",
        "numeric": ["age", "fnlwgt"], "categorical": "rest",
    }));
    assert_eq!(load_bytes("t.parquet", &base, &s, &strict()).unwrap().len(), 200);
    let mut rng = Rng(7);
    for _ in 0..300 {
        let mut d = base.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(d.len());
            d[i] = rng.next() as u8;
        }
        if let Err(e) = load_bytes("t.parquet", &d, &s, &lenient()) {
            assert!(e.starts_with("t.parquet: "), "{e}");
        }
    }
    // Wrong types and names are one-line errors too.
    let e = load_bytes("t.parquet", b"a,b\n1,2\n", &s, &strict()).unwrap_err();
    assert!(e.contains("not a Parquet file") && e.contains("looks like text"), "{e}");
    let mut bad = s.clone();
    bad.names = Some(vec!["x".into()]);
    let e = load_bytes("t.parquet", &base, &bad, &strict()).unwrap_err();
    assert_eq!(e, "t.parquet: [data]: `names` lists 1 columns but the Parquet file has 17");
    let mut bad = s.clone();
    bad.numeric = mia_data::tabular::ColumnSet::List(vec!["workclass".into()]);
    let e = load_bytes("t.parquet", &base, &bad, &strict()).unwrap_err();
    assert!(e.starts_with("t.parquet: row 1, column \"workclass\": expected a finite number"), "{e}");
}

#[cfg(not(feature = "parquet"))]
#[allow(dead_code)]
fn unused(_: &Path) {}

use std::io::Write;

use mia_core::signals::ModelOutputs;
use mia_data::{DataError, LoadOptions, ScoreColumns, ScoreSource, SkipCount};
use sha2::{Digest, Sha256};

use crate::*;

const HEAD: &str = "id,member,label,logit_0,logit_1\n";

fn logits_csv(rows: &[&str]) -> String {
    let mut s = HEAD.to_string();
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn good() -> String {
    logits_csv(&["a,1,0,2.0,-1.0", "b,0,1,0.5,0.25", "c,false,1,-3,4e-1"])
}

#[test]
fn loads_logits_with_ids_labels_and_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let content = good();
    let p = write(dir.path(), "s.csv", &content);
    let t = load(&table(&p), &strict()).unwrap();
    assert_eq!(t.ids, ["a", "b", "c"]);
    assert_eq!(t.member, [true, false, false]);
    assert_eq!(t.labels.as_deref(), Some(&[0usize, 1, 1][..]));
    let ModelOutputs::Logits(a) = &t.outputs else { panic!("expected logits, got {}", t.outputs.kind()) };
    assert_eq!(a.shape(), [3, 2]);
    assert_eq!(a[[0, 0]], 2.0);
    assert_eq!(a[[2, 1]], 0.4);
    assert_eq!(t.rows_read, 3);
    assert!(t.skipped.is_empty());
    assert!(t.notes.is_empty(), "{:?}", t.notes);
    assert_eq!(t.inputs.len(), 1);
    assert_eq!(t.inputs[0].path, p.display().to_string());
    assert_eq!(t.inputs[0].bytes, content.len() as u64);
    let want: String = Sha256::digest(content.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(t.inputs[0].sha256, want);
}

#[test]
fn loads_probabilities() {
    let t = csv_ok("id,member,label,prob_0,prob_1,prob_2\n1,1,2,0.1,0.2,0.7\n2,0,0,1,0,0\n");
    let ModelOutputs::Probabilities(a) = &t.outputs else { panic!("expected probabilities") };
    assert_eq!(a.shape(), [2, 3]);
    assert_eq!(a[[0, 2]], 0.7);
}

#[test]
fn loads_loss_with_and_without_labels() {
    let t = csv_ok("id,member,loss\nx,1,0.1\ny,0,2.5\n");
    assert!(t.labels.is_none());
    let ModelOutputs::Loss(l) = &t.outputs else { panic!("expected loss") };
    assert_eq!(l, &[0.1, 2.5]);
    let t = csv_ok("id,member,label,loss\nx,1,7,0.1\ny,0,3,0\n");
    assert_eq!(t.labels.as_deref(), Some(&[7usize, 3][..]));
}

#[test]
fn missing_id_column_uses_row_numbers_with_note() {
    let t = csv_ok("member,label,logit_0,logit_1\n1,0,1,2\n0,1,3,4\n");
    assert_eq!(t.ids, ["1", "2"]);
    assert!(t.notes.iter().any(|n| n.contains("\"id\"") && n.contains("row numbers")), "{:?}", t.notes);
}

#[test]
fn logits_win_over_probabilities_with_note() {
    let t =
        csv_ok("id,member,label,prob_0,prob_1,logit_0,logit_1,loss\na,1,0,0.5,0.5,1,2,0.3\nb,0,1,0.5,0.5,3,4,0.2\n");
    let ModelOutputs::Logits(a) = &t.outputs else { panic!("expected logits") };
    assert_eq!(a[[1, 1]], 4.0);
    assert!(t.notes.iter().any(|n| n.contains("using the logits")), "{:?}", t.notes);
    assert!(t.notes.iter().any(|n| n.contains("\"loss\" ignored")), "{:?}", t.notes);
}

#[test]
fn member_spellings() {
    let t = csv_ok(&logits_csv(&["a,1,0,0,0", "b,0,0,0,0", "c,TRUE,0,0,0", "d,False,0,0,0", "e, true ,0,0,0"]));
    assert_eq!(t.member, [true, false, true, false, true]);
}

#[test]
fn whitespace_quotes_and_bom_are_tolerated() {
    let t = csv_ok("\u{feff}id , member,label,logit_0,logit_1\n\"a b\", 1 , 0 , 1.5 ,\" 2\"\nc,0,1,1,2\n");
    assert_eq!(t.ids, ["a b", "c"]);
    let ModelOutputs::Logits(a) = &t.outputs else { panic!() };
    assert_eq!(a[[0, 1]], 2.0);
}

#[test]
fn crlf_line_endings_and_blank_lines() {
    let t = csv_ok("id,member,label,logit_0,logit_1\r\na,1,0,1,2\r\n\r\nb,0,1,3,4\r\n");
    assert_eq!(t.ids, ["a", "b"]);
    let e = csv_err("s.csv", "id,member,label,logit_0,logit_1\r\na,1,0,1,2\r\nb,0,1,3,x\r\n");
    assert_eq!(e, "s.csv: row 2 (line 3), column \"logit_1\": expected a number, found \"x\"");
    let e = csv_err("s.csv", "id,member,label,logit_0,logit_1\r\n\"a\r\nb\",1,0,1,2\r\n\r\nb,0,1\r\n");
    assert_eq!(e, "s.csv: row 2 (line 5): expected 5 fields as in the header, found 3");
    let e = csv_err("s.csv", "id,member,label,logit_0,logit_1\ra,1,0,1,2\rb,0,1,3,x\r");
    assert_eq!(e, "s.csv: row 2 (line 3), column \"logit_1\": expected a number, found \"x\"");
    let dir = tempfile::tempdir().unwrap();
    let mut big = HEAD.replace('\n', "\r\n");
    for i in 0..5000 {
        big.push_str(&format!("r{i},{},0,1,{}\r\n", i % 2, if i == 4321 { "oops" } else { "2" }));
    }
    let p = write(dir.path(), "big.csv.gz", gzip(big.as_bytes()));
    let e = strip(&load(&table(&p), &strict()).unwrap_err().to_string(), dir.path());
    assert_eq!(e, "big.csv.gz: row 4322 (line 4323), column \"logit_1\": expected a number, found \"oops\"");
}

#[test]
fn renamed_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.csv", "rid,in_train,y,z0,z1\nq,1,0,1,2\nr,0,1,3,4\n");
    let columns = ScoreColumns {
        id: "rid".into(),
        member: "in_train".into(),
        label: "y".into(),
        logit_prefix: "z".into(),
        ..ScoreColumns::default()
    };
    let t = load(&ScoreSource::Table { path: p, columns }, &strict()).unwrap();
    assert_eq!(t.ids, ["q", "r"]);
    assert_eq!(t.outputs.n_classes(), Some(2));
}

#[test]
fn class_columns_are_found_out_of_order_and_extra_columns_ignored() {
    let t = csv_ok("logit_1,notes,member,logit_0,label,logit_x,logit_01\n5,hi,1,4,1,zz,9\n7,,0,6,0,,\n");
    let ModelOutputs::Logits(a) = &t.outputs else { panic!() };
    assert_eq!(a.row(0).to_vec(), [4.0, 5.0]);
    assert_eq!(a.row(1).to_vec(), [6.0, 7.0]);
}

// ---- structural errors ----

#[test]
fn missing_member_column() {
    let e = csv_err("s.csv", "id,label,logit_0,logit_1\na,0,1,2\n");
    assert_eq!(
        e,
        "s.csv: missing required column \"member\" (1 for members, 0 for non-members); columns found: \"id\", \"label\", \"logit_0\", \"logit_1\""
    );
}

#[test]
fn missing_label_column_with_logits_and_probs() {
    let e = csv_err("s.csv", "id,member,logit_0,logit_1\na,1,1,2\n");
    assert!(e.starts_with("s.csv: missing required column \"label\""), "{e}");
    assert!(e.contains("needed with logits") && e.contains("columns found: \"id\", \"member\""), "{e}");
    let e = csv_err("s.csv", "id,member,prob_0,prob_1\na,1,0.5,0.5\n");
    assert!(e.contains("\"label\"") && e.contains("probabilities"), "{e}");
}

#[test]
fn duplicate_column() {
    let e = csv_err("s.csv", "id,member,label,logit_0,logit_1,member\na,1,0,1,2,1\n");
    assert_eq!(e, "s.csv: duplicate column \"member\" in the header (columns 2 and 6)");
}

#[test]
fn class_column_gap_names_the_missing_column() {
    let e = csv_err("s.csv", "id,member,label,logit_0,logit_1,logit_3\na,1,0,1,2,3\n");
    assert_eq!(e, "s.csv: class columns must run \"logit_0\"..\"logit_3\" with no gaps: column \"logit_2\" is missing");
    let e = csv_err("s.csv", "id,member,label,prob_1,prob_2\na,1,0,0.5,0.5\n");
    assert!(e.contains("column \"prob_0\" is missing"), "{e}");
}

#[test]
fn single_class_column() {
    let e = csv_err("s.csv", "id,member,label,logit_0\na,1,0,1\n");
    assert!(e.starts_with("s.csv: expected at least 2 class columns"), "{e}");
}

#[test]
fn no_output_columns() {
    let e = csv_err("s.csv", "id,member,label,score\na,1,0,1\n");
    assert_eq!(
        e,
        "s.csv: no model-output columns: expected logit columns \"logit_0\"..\"logit_{C-1}\", probability columns \"prob_0\"..\"prob_{C-1}\", or a \"loss\" column; columns found: \"id\", \"member\", \"label\", \"score\""
    );
}

#[test]
fn empty_file_and_header_only() {
    assert_eq!(
        csv_err("s.csv", ""),
        "s.csv: file is empty: expected a header row naming the columns, then one row per record"
    );
    assert_eq!(csv_err("s.csv", HEAD), "s.csv: no data rows: the file has a header but no records");
    assert_eq!(
        csv_err("s.csv", "id,member,label,logit_0,logit_1"),
        "s.csv: no data rows: the file has a header but no records"
    );
}

#[test]
fn ragged_row() {
    let e = csv_err("s.csv", &logits_csv(&["a,1,0,1,2", "b,0,1,1"]));
    assert_eq!(e, "s.csv: row 2 (line 3): expected 5 fields as in the header, found 4");
}

#[test]
fn unknown_extension_and_npy_as_table() {
    let e = csv_err("s.txt", &good());
    assert_eq!(e, "s.txt: unsupported file type (extension \".txt\"); accepted: .csv, .csv.gz, .parquet, .pq");
    let e = csv_err("scores", &good());
    assert!(e.starts_with("scores: unsupported file type (no extension); accepted: .csv"), "{e}");
    let e = csv_err("s.npy", &good());
    assert!(e.contains("NumPy arrays are read as separate"), "{e}");
}

#[test]
fn nonexistent_file_and_directory() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(&table(&dir.path().join("nope.csv")), &strict()).unwrap_err();
    assert_eq!(strip(&e.to_string(), dir.path()), "nope.csv: cannot read: no such file");
    let sub = dir.path().join("d.csv");
    std::fs::create_dir(&sub).unwrap();
    let e = load(&table(&sub), &strict()).unwrap_err();
    assert!(strip(&e.to_string(), dir.path()).starts_with("d.csv: cannot read"), "{e}");
}

#[test]
fn file_that_is_really_parquet_or_npy() {
    let e = csv_err("s.csv", "PAR1\0\0\0junk");
    assert_eq!(e, "s.csv: this is a Parquet file, not CSV; name it .parquet");
    let e = csv_err("s.csv", "\u{93}NUMPY");
    // (U+0093 is two bytes in UTF-8, so this is *not* the npy magic: it's a text header)
    assert!(e.starts_with("s.csv: missing required column"), "{e}");
}

#[test]
fn newline_in_column_name_stays_on_one_line() {
    let e = csv_err("s.csv", "\"i\nd\",label,logit_0,logit_1\na,0,1,2\n");
    assert!(e.contains("\"i\\nd\""), "{e}");
}

// ---- value errors ----

#[test]
fn non_numeric_cell() {
    let e = csv_err("s.csv", &logits_csv(&["a,1,0,1,2", "b,0,1,1,abc"]));
    assert_eq!(e, "s.csv: row 2 (line 3), column \"logit_1\": expected a number, found \"abc\"");
}

#[test]
fn empty_cell() {
    let e = csv_err("s.csv", &logits_csv(&["a,1,0,,2"]));
    assert_eq!(e, "s.csv: row 1 (line 2), column \"logit_0\": expected a number, found an empty cell");
}

#[test]
fn nan_and_infinities() {
    for (cell, shown) in [
        ("NaN", "\"NaN\""),
        ("nan", "\"nan\""),
        ("inf", "\"inf\""),
        ("-Infinity", "\"-Infinity\""),
        ("1e400", "\"1e400\""),
    ] {
        let e = csv_err("s.csv", &logits_csv(&["a,1,0,1,2", "b,0,0,1,2", &format!("c,0,1,{cell},2")]));
        assert_eq!(e, format!("s.csv: row 3 (line 4), column \"logit_0\": expected a finite number, found {shown}"));
    }
}

#[test]
fn label_out_of_range() {
    let e = csv_err("s.csv", &logits_csv(&["a,1,2,1,2"]));
    assert_eq!(e, "s.csv: row 1 (line 2), column \"label\": expected a class index in 0..2 (2 class columns), found 2");
}

#[test]
fn non_integer_labels() {
    for (cell, shown) in [
        ("3.0", "\"3.0\""),
        ("-1", "\"-1\""),
        ("", "an empty cell"),
        ("x", "\"x\""),
        ("1e0", "\"1e0\""),
        ("99999999999999999999999", "\"99999999999999999999999\""),
    ] {
        let e = csv_err("s.csv", &logits_csv(&[&format!("a,1,{cell},1,2")]));
        assert_eq!(
            e,
            format!(
                "s.csv: row 1 (line 2), column \"label\": expected a non-negative integer class label, found {shown}"
            )
        );
    }
}

#[test]
fn member_value_two() {
    let e = csv_err("s.csv", &logits_csv(&["a,1,0,1,2", "b,2,0,1,2"]));
    assert_eq!(e, "s.csv: row 2 (line 3), column \"member\": expected 0/1 or true/false, found \"2\"");
    let e = csv_err("s.csv", &logits_csv(&["a,yes,0,1,2"]));
    assert!(e.ends_with("found \"yes\""), "{e}");
}

#[test]
fn negative_loss() {
    let e = csv_err("s.csv", "id,member,loss\na,1,0.5\nb,0,-0.25\n");
    assert_eq!(e, "s.csv: row 2 (line 3), column \"loss\": expected a non-negative loss, found -0.25");
}

#[test]
fn probabilities_out_of_range() {
    let e = csv_err("s.csv", "id,member,label,prob_0,prob_1\na,1,0,-0.1,1.1\n");
    assert_eq!(e, "s.csv: row 1 (line 2), column \"prob_0\": expected a probability in [0, 1], found -0.1");
    let e = csv_err("s.csv", "id,member,label,prob_0,prob_1\na,1,0,0.5,0.5\nb,0,0,1.5,0\n");
    assert_eq!(e, "s.csv: row 2 (line 3), column \"prob_0\": expected a probability in [0, 1], found 1.5");
}

#[test]
fn probabilities_not_summing_to_one() {
    let e = csv_err("s.csv", "id,member,label,prob_0,prob_1,prob_2\na,1,0,0.2,0.2,0.2\n");
    assert_eq!(
        e,
        "s.csv: row 1 (line 2), columns \"prob_0\"..\"prob_2\": expected probabilities summing to 1 (within tolerance 1e-3), found sum 0.6000000000000001"
    );
    // Within a looser tolerance it loads.
    let opts = LoadOptions { prob_tolerance: 0.02, ..LoadOptions::default() };
    let t = csv_ok_with("id,member,label,prob_0,prob_1\na,1,0,0.5,0.51\nb,0,1,0.5,0.5\n", &opts);
    assert_eq!(t.len(), 2);
    // Rounding within the default tolerance is fine.
    csv_ok("id,member,label,prob_0,prob_1,prob_2\na,1,0,0.333,0.333,0.333\nb,0,1,0.3333,0.3333,0.3334\n");
}

#[test]
fn invalid_tolerance_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.csv", good());
    let e = load(&table(&p), &LoadOptions { prob_tolerance: f64::NAN, ..LoadOptions::default() }).unwrap_err();
    assert!(matches!(e, DataError::Usage { .. }), "{e}");
}

#[test]
fn duplicate_ids_name_both_rows() {
    let e = csv_err("s.csv", &logits_csv(&["a,1,0,1,2", "b,0,0,1,2", "a,0,1,1,2"]));
    assert_eq!(e, "s.csv: rows 1 and 3, column \"id\": expected unique record ids, found \"a\" twice");
}

#[test]
fn empty_id() {
    let e = csv_err("s.csv", &logits_csv(&["a,1,0,1,2", " ,0,0,1,2"]));
    assert_eq!(e, "s.csv: row 2 (line 3), column \"id\": expected a non-empty record id, found an empty cell");
}

#[test]
fn no_members_and_no_non_members() {
    let e = csv_err("s.csv", &logits_csv(&["a,0,0,1,2", "b,0,1,1,2"]));
    assert_eq!(e, "s.csv: need at least one member and one non-member, found 0 member(s) and 2 non-member(s)");
    let e = csv_err("s.csv", &logits_csv(&["a,1,0,1,2", "b,true,1,1,2", "c,1,1,1,1"]));
    assert_eq!(e, "s.csv: need at least one member and one non-member, found 3 member(s) and 0 non-member(s)");
}

#[test]
fn line_numbers_count_multiline_quoted_fields() {
    let e = csv_err("s.csv", "id,member,label,logit_0,logit_1\n\"a\nb\",1,0,1,2\nc,0,0,x,2\n");
    assert_eq!(e, "s.csv: row 2 (line 4), column \"logit_0\": expected a number, found \"x\"");
}

#[test]
fn long_and_binary_cells_are_quoted_and_truncated() {
    let long = "z".repeat(500);
    let e = csv_err("s.csv", &logits_csv(&[&format!("a,1,0,{long},2")]));
    assert!(e.len() < 200 && e.contains("zzz…\""), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "b.csv", b"id,member,label,logit_0,logit_1\na,1,0,\xff\x00\x01,2\n");
    let e = load(&table(&p), &strict()).unwrap_err().to_string();
    assert!(e.contains("expected a number, found \"\u{fffd}\\0\\u{1}\""), "{e}");
}

// ---- skipping ----

#[test]
fn skip_invalid_rows_counts_reasons() {
    let content = "id,member,label,prob_0,prob_1\n\
        a,1,0,0.5,0.5\n\
        b,2,0,0.5,0.5\n\
        c,0,5,0.5,0.5\n\
        d,0,0,nan,0.5\n\
        e,0,0,0.2,0.2\n\
        f,0,0,-0.5,1.5\n\
        g,0,x,0.5,0.5\n\
        h,0,1,,0.5\n\
        ,0,1,0.5,0.5\n\
        i,0,1,0.25,0.75\n";
    let t = csv_ok_with(content, &lenient());
    assert_eq!(t.ids, ["a", "i"]);
    assert_eq!(t.rows_read, 10);
    assert_eq!(t.n_skipped(), 8);
    let counts: Vec<(String, usize)> = t.skipped.iter().map(|s| (s.reason.clone(), s.count)).collect();
    assert_eq!(
        counts,
        [
            ("empty or non-numeric value".to_string(), 1),
            ("invalid probability row".to_string(), 2),
            ("label not a non-negative integer".to_string(), 1),
            ("label out of range".to_string(), 1),
            ("member not 0/1 or true/false".to_string(), 1),
            ("missing id".to_string(), 1),
            ("non-finite number (NaN or infinity)".to_string(), 1),
        ]
    );
    let ModelOutputs::Probabilities(a) = &t.outputs else { panic!() };
    assert_eq!(a.shape(), [2, 2]);
    assert_eq!(a.row(1).to_vec(), [0.25, 0.75]);
    assert_eq!(t.labels.as_deref(), Some(&[0usize, 1][..]));
}

#[test]
fn skipped_rows_keep_row_number_ids() {
    let t = csv_ok_with("member,loss\n1,0.1\n0,-1\n0,0.3\n", &lenient());
    assert_eq!(t.ids, ["1", "3"]);
    assert_eq!(t.skipped, [SkipCount { reason: "negative loss".into(), count: 1 }]);
}

#[test]
fn skipping_does_not_hide_structural_errors() {
    let e = csv_err_with("s.csv", "id,label,logit_0,logit_1\na,0,1,2\n", &lenient());
    assert!(e.contains("missing required column \"member\""), "{e}");
    let e = csv_err_with("s.csv", &logits_csv(&["a,1,0,1,2", "b,0,1"]), &lenient());
    assert!(e.contains("expected 5 fields"), "{e}");
    let e = csv_err_with("s.csv", &logits_csv(&["a,1,0,1,2", "a,0,1,1,2"]), &lenient());
    assert!(e.contains("unique record ids"), "{e}");
}

#[test]
fn all_rows_skipped_and_one_class_after_skipping() {
    let e = csv_err_with("s.csv", &logits_csv(&["a,1,0,nan,2", "b,0,0,1,inf"]), &lenient());
    assert_eq!(e, "s.csv: all 2 data rows were skipped as invalid (non-finite number (NaN or infinity): 2)");
    let e = csv_err_with("s.csv", &logits_csv(&["a,1,0,nan,2", "b,0,0,1,2"]), &lenient());
    assert_eq!(
        e,
        "s.csv: need at least one member and one non-member, found 0 member(s) and 1 non-member(s) after skipping 1 invalid row(s)"
    );
}

// ---- gzip ----

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_csv_loads_like_plain_csv() {
    let dir = tempfile::tempdir().unwrap();
    let gz = gzip(good().as_bytes());
    let p = write(dir.path(), "s.csv.gz", &gz);
    let t = load(&table(&p), &strict()).unwrap();
    let plain = csv_ok(&good());
    assert_eq!(t.ids, plain.ids);
    assert_eq!(t.member, plain.member);
    assert_eq!(t.labels, plain.labels);
    let (ModelOutputs::Logits(a), ModelOutputs::Logits(b)) = (&t.outputs, &plain.outputs) else { panic!() };
    assert_eq!(a, b);
    // The fingerprint is of the compressed file.
    assert_eq!(t.inputs[0].bytes, gz.len() as u64);
    let want: String = Sha256::digest(&gz).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(t.inputs[0].sha256, want);
    // Upper-case extension too.
    let p = write(dir.path(), "S.CSV.GZ", &gz);
    assert_eq!(load(&table(&p), &strict()).unwrap().len(), 3);
}

#[test]
fn gz_that_is_not_gzip() {
    let e = csv_err("s.csv.gz", &good());
    assert_eq!(
        e,
        "s.csv.gz: not a gzip file (it does not start with the gzip magic bytes 1f 8b); if it is plain CSV, name it .csv"
    );
}

#[test]
fn truncated_and_corrupt_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = HEAD.to_string();
    for i in 0..2000 {
        big.push_str(&format!("r{i},{},{},{}.5,{}\n", i % 2, i % 2, i, i * 7 % 13));
    }
    let gz = gzip(big.as_bytes());
    let p = write(dir.path(), "t.csv.gz", &gz[..gz.len() / 2]);
    let e = strip(&load(&table(&p), &strict()).unwrap_err().to_string(), dir.path());
    assert!(e.starts_with("t.csv.gz: after data row ") && e.contains("corrupt or truncated gzip data"), "{e}");
    let mut bad = gz.clone();
    let n = bad.len();
    for b in bad.iter_mut().take(n - 20).skip(30) {
        *b ^= 0x5a;
    }
    let p = write(dir.path(), "c.csv.gz", &bad);
    let e = strip(&load(&table(&p), &strict()).unwrap_err().to_string(), dir.path());
    assert!(e.starts_with("c.csv.gz: "), "{e}");
}

#[test]
fn gzip_named_csv_is_read_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "s.csv", gzip(good().as_bytes()));
    let t = load(&table(&p), &strict()).unwrap();
    assert_eq!(t.len(), 3);
    assert!(t.notes.iter().any(|n| n.contains("gzip-compressed")), "{:?}", t.notes);
}

// ---- scale ----

#[test]
fn hundred_thousand_rows() {
    let mut s = String::from("id,member,label,logit_0,logit_1,logit_2\n");
    for i in 0..100_000u64 {
        s.push_str(&format!("{i},{},{},{}.25,-{}.5,{}e-3\n", i % 2, i % 3, i % 17, i % 5, i % 1000));
    }
    let t0 = std::time::Instant::now();
    let t = csv_ok(&s);
    assert_eq!(t.len(), 100_000);
    assert_eq!(t.ids[99_999], "99999");
    let ModelOutputs::Logits(a) = &t.outputs else { panic!() };
    assert_eq!(a[[99_999, 2]], 0.999);
    eprintln!("100k-row CSV loaded in {:?}", t0.elapsed());
}

#[cfg(not(feature = "parquet"))]
#[test]
fn parquet_without_the_feature_is_a_clear_error() {
    let e = csv_err("s.parquet", "PAR1");
    assert!(e.starts_with("s.parquet: Parquet support is not compiled into this build"), "{e}");
}

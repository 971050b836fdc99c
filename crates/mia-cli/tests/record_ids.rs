//! Record ids end to end. Ids that a spreadsheet would evaluate as a formula are neutralised
//! in `records.csv` (OWASP's CSV-injection rule) and kept exact in `records.parquet`, whose
//! values are the report's to the bit. Ids holding a NUL byte or bytes that are not UTF-8
//! are rejected by every reader — CSV and Parquet score files, a table's id column (CSV and
//! Parquet), a reference table — with exit code 2 and one line naming the file, the row,
//! the column and the byte, instead of being written raw or decoded lossily (which made
//! distinct ids collide).

mod support;
use support::{error_line, mia, s};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, RecordBatchReader, StringArray,
};
use arrow::datatypes::{Float64Type, Int64Type};
use std::path::Path;
use std::sync::Arc;

/// A score file as Parquet: id (string), member (bool), label (int64), logit_0/1 (float64).
fn scores_parquet(path: &Path, ids: &[&str]) {
    let n = ids.len();
    let columns: [(&str, ArrayRef); 5] = [
        ("id", Arc::new(StringArray::from(ids.to_vec()))),
        ("member", Arc::new(BooleanArray::from((0..n).map(|i| i % 2 == 0).collect::<Vec<_>>()))),
        ("label", Arc::new(Int64Array::from((0..n).map(|i| (i % 3 == 0) as i64).collect::<Vec<_>>()))),
        ("logit_0", Arc::new(Float64Array::from((0..n).map(|i| 0.37 * i as f64 - 1.0).collect::<Vec<_>>()))),
        ("logit_1", Arc::new(Float64Array::from((0..n).map(|i| (i as f64).sin()).collect::<Vec<_>>()))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// A Parquet file whose first column is a STRING (UTF-8 annotated) column holding `ids` as
/// raw bytes — what a buggy writer can produce and arrow-rs cannot — and whose other columns
/// are the given int32 and double columns, `rows` values each.
fn raw_string_parquet(path: &Path, ids: &[&[u8]], ints: &[(&str, Vec<i32>)], doubles: &[(&str, Vec<f64>)]) {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int32Type};
    use parquet::file::writer::SerializedFileWriter;
    let mut msg = "message m { required binary id (STRING);".to_string();
    for (n, _) in ints {
        msg.push_str(&format!(" required int32 {n};"));
    }
    for (n, _) in doubles {
        msg.push_str(&format!(" required double {n};"));
    }
    msg.push_str(" }");
    let schema = Arc::new(parquet::schema::parser::parse_message_type(&msg).unwrap());
    let props = Arc::new(parquet::file::properties::WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut c = rg.next_column().unwrap().unwrap();
    let values: Vec<ByteArray> = ids.iter().map(|b| ByteArray::from(b.to_vec())).collect();
    c.typed::<ByteArrayType>().write_batch(&values, None, None).unwrap();
    c.close().unwrap();
    for (_, v) in ints {
        let mut c = rg.next_column().unwrap().unwrap();
        c.typed::<Int32Type>().write_batch(v, None, None).unwrap();
        c.close().unwrap();
    }
    for (_, v) in doubles {
        let mut c = rg.next_column().unwrap().unwrap();
        c.typed::<DoubleType>().write_batch(v, None, None).unwrap();
        c.close().unwrap();
    }
    rg.close().unwrap();
    w.close().unwrap();
}

fn read_parquet(path: &Path) -> RecordBatch {
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

#[test]
fn formula_ids_are_neutralised_in_csv_and_exact_in_parquet() {
    // Each id and its records.csv cell. A plain number stays a number; everything else a
    // spreadsheet would evaluate gets a leading quote; quoting as CSV needs it comes after.
    let cases: [(&str, &str); 12] = [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+2", "'\t=1+2"),
        ("\r=evil", "\"'\r=evil\""),
        ("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
        ("-2", "-2"),
        ("+1.5e3", "+1.5e3"),
        ("plain", "plain"),
        ("a,b", "\"a,b\""),
        ("é-1", "é-1"),
    ];
    let ids: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("scores.parquet");
    scores_parquet(&input, &ids);
    let out = tmp.path().join("out");
    let o = mia(&["score", s(&input), "-q", "--bootstrap", "0", "-o", s(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let text = std::fs::read_to_string(out.join("records.csv")).unwrap();
    for (id, cell) in &cases {
        assert!(text.contains(&format!("\n{cell},")), "{id:?}: no row starting with {cell:?} in\n{text}");
    }

    // records.csv read as CSV: each id cell is the neutralised id, in input order.
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), ids.len());

    // records.parquet: the same columns; ids exact; every value the CSV's to the bit.
    let pq = read_parquet(&out.join("records.parquet"));
    let names: Vec<String> = pq.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, header);
    let pq_ids: Vec<&str> = pq.column(0).as_string::<i32>().iter().map(Option::unwrap).collect();
    assert_eq!(pq_ids, ids, "records.parquet ids must be exact");
    for (r, row) in rows.iter().enumerate() {
        let csv_id = &row[0];
        let neutral = csv_id.starts_with('\'') && csv_id[1..] == *ids[r];
        assert!(csv_id == ids[r] || neutral, "row {r}: {csv_id:?} vs {:?}", ids[r]);
        for (k, name) in header.iter().enumerate().skip(1) {
            let col = pq.column(k);
            let cell = &row[k];
            match name.as_str() {
                "member" => assert_eq!(col.as_boolean().value(r), cell == "1", "{name} row {r}"),
                n if n.ends_with("_score") => {
                    let v = col.as_primitive::<Float64Type>().value(r);
                    assert_eq!(v.to_bits(), cell.parse::<f64>().unwrap().to_bits(), "{name} row {r}");
                }
                _ => assert_eq!(col.as_primitive::<Int64Type>().value(r).to_string(), cell, "{name} row {r}"),
            }
            assert_eq!(col.null_count(), 0);
        }
    }
    // Scores stay numbers in the CSV, negative ones included.
    assert!(header.iter().any(|h| h == "loss_score"));
    assert!(rows.iter().any(|r| r[header.iter().position(|h| h == "loss_score").unwrap()].starts_with('-')));
}

#[test]
fn ids_with_nul_bytes_or_invalid_utf8_are_rejected_by_every_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let p = |n: &str| dir.join(n);
    let head = b"id,member,label,logit_0,logit_1\n".to_vec();
    let with_rows = |rows: &[&[u8]]| {
        let mut v = head.clone();
        for r in rows {
            v.extend_from_slice(r);
            v.push(b'\n');
        }
        v
    };
    let out = p("out");

    // A CSV score file. Before, a NUL went into records.csv raw, and `a\xffb` / `a\xfeb`
    // both became "a\u{fffd}b" and failed as duplicates.
    std::fs::write(p("nul.csv"), with_rows(&[b"ok,1,0,1,2", b"a\0b,0,1,1,2", b"c,1,1,0,1", b"d,0,0,2,1"])).unwrap();
    let e = error_line(&mia(&["score", s(&p("nul.csv")), "-q", "-o", s(&out)]));
    for want in ["nul.csv", "row 2", "column \"id\"", "a NUL byte at offset 1"] {
        assert!(e.contains(want), "{want:?} missing: {e}");
    }
    std::fs::write(p("utf8.csv"), with_rows(&[b"ok,1,0,1,2", b"a\xffb,0,1,1,2", b"a\xfeb,1,1,0,1"])).unwrap();
    let e = error_line(&mia(&["score", s(&p("utf8.csv")), "-q", "-o", s(&out)]));
    for want in ["utf8.csv", "row 2", "column \"id\"", "not valid UTF-8: byte 0xff at offset 1"] {
        assert!(e.contains(want), "{want:?} missing: {e}");
    }
    // Skipping invalid rows counts such a row under its own reason.
    let o = mia(&[
        "score",
        s(&p("nul.csv")),
        "-q",
        "--skip-invalid-rows",
        "--bootstrap",
        "0",
        "--folds",
        "2",
        "-o",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = support::report(&out);
    assert_eq!(doc["rows"]["skipped"][0]["reason"], "id not UTF-8 text or with a NUL byte");
    assert_eq!(doc["rows"]["skipped"][0]["count"], 1);

    // Parquet score files: a NUL in a string id, and a STRING column holding bytes that are
    // not UTF-8 (before: "corrupt or unreadable Parquet file", no row or column).
    scores_parquet(&p("nul.parquet"), &["a", "b\0", "c", "d"]);
    let e = error_line(&mia(&["score", s(&p("nul.parquet")), "-q", "-o", s(&out)]));
    for want in ["nul.parquet", "row 2", "column \"id\"", "a NUL byte at offset 1"] {
        assert!(e.contains(want), "{want:?} missing: {e}");
    }
    raw_string_parquet(
        &p("utf8.parquet"),
        &[b"a", b"b", b"xy\xff", b"d"],
        &[("member", vec![1, 0, 1, 0]), ("label", vec![0, 1, 1, 0])],
        &[("logit_0", vec![1.0, 2.0, 3.0, 4.0]), ("logit_1", vec![0.5, 0.1, 0.2, 0.3])],
    );
    let e = error_line(&mia(&["score", s(&p("utf8.parquet")), "-q", "-o", s(&out)]));
    for want in ["utf8.parquet", "row 3", "column \"id\"", "not valid UTF-8: byte 0xff at offset 2"] {
        assert!(e.contains(want), "{want:?} missing: {e}");
    }

    // A reference table's id column (`mia score --reference`), CSV.
    std::fs::write(p("scores.csv"), with_rows(&[b"a,1,0,1,2", b"b,0,1,1,2", b"c,1,1,0,1", b"d,0,0,2,1"])).unwrap();
    for (name, bad, want) in
        [("ref_nul.csv", &b"c\0"[..], "a NUL byte at offset 1"), ("ref_utf8.csv", b"c\xc3", "byte 0xc3 at offset 1")]
    {
        let mut t = b"id,phi_0,phi_1,keep_0,keep_1\na,0.1,0.2,1,0\nb,0.3,0.1,0,1\n".to_vec();
        t.extend_from_slice(bad);
        t.extend_from_slice(b",0.2,0.2,1,0\nd,0.5,0.4,0,1\n");
        std::fs::write(p(name), t).unwrap();
        let e = error_line(&mia(&[
            "score",
            s(&p("scores.csv")),
            "--reference",
            s(&p(name)),
            "--folds",
            "2",
            "-q",
            "-o",
            s(&out),
        ]));
        for w in [name, "row 3", "column \"id\"", want] {
            assert!(e.contains(w), "{w:?} missing: {e}");
        }
    }
}

/// A small `mia audit` config over `data` (label `y`, id column `id`).
fn audit_config(dir: &Path, data: &Path) -> std::path::PathBuf {
    let text = format!(
        "seed = 1\n[data]\npath = \"{}\"\nlabel = \"y\"\nid = \"id\"\nnumeric = \"rest\"\n[plan]\nreference_models = 2\n\
         [learner]\nkind = \"mlp\"\nhidden_layer_sizes = [4]\nmax_iter = 5\n",
        data.display()
    );
    let path = dir.join("audit.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_tables_id_column_rejects_nul_bytes_and_invalid_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let artifacts = dir.join("models");
    // CSV table: a NUL byte in row 5's id.
    let mut t = b"id,x,y\n".to_vec();
    for i in 0..40 {
        let id: Vec<u8> = if i == 4 { b"r\x004".to_vec() } else { format!("r{i}").into_bytes() };
        t.extend_from_slice(&id);
        t.extend_from_slice(format!(",{},{}\n", i as f64 * 0.1, i % 2).as_bytes());
    }
    let data = dir.join("t.csv");
    std::fs::write(&data, t).unwrap();
    let cfg = audit_config(dir, &data);
    let o = mia(&["audit", s(&cfg), "-q", "--artifacts", s(&artifacts), "-o", s(&dir.join("out"))]);
    let e = error_line(&o);
    for want in ["t.csv", "row 5", "column \"id\"", "a NUL byte at offset 1"] {
        assert!(e.contains(want), "{want:?} missing: {e}");
    }
    // Parquet table: bytes that are not UTF-8 in row 3's id.
    let ids: Vec<Vec<u8>> =
        (0..40).map(|i| if i == 2 { b"r\xfe".to_vec() } else { format!("r{i}").into_bytes() }).collect();
    let id_refs: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
    let data = dir.join("t.parquet");
    raw_string_parquet(
        &data,
        &id_refs,
        &[("y", (0..40).map(|i| i % 2).collect())],
        &[("x", (0..40).map(|i| i as f64).collect())],
    );
    let cfg = audit_config(dir, &data);
    let o = mia(&["audit", s(&cfg), "-q", "--artifacts", s(&artifacts), "-o", s(&dir.join("out"))]);
    let e = error_line(&o);
    for want in ["t.parquet", "row 3", "column \"id\"", "not valid UTF-8: byte 0xfe at offset 1"] {
        assert!(e.contains(want), "{want:?} missing: {e}");
    }
    // No model was trained.
    let trained = std::fs::read_dir(&artifacts).map_or(0, |d| d.count());
    assert_eq!(trained, 0);
}

//! `mia_data::tabular` on the bundled real data sets, checked against the independent pandas
//! encodings in `fixtures/tabular/*_expected.json` (made by `scripts/encoding_fixtures.py`),
//! plus Parquet/CSV equivalence and the serde shape of `[data]`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use mia_data::tabular::{ColumnSet, ColumnValues, Encoding, Table, TableOptions, TableSchema, load_table};
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn expected(name: &str) -> Value {
    let p = root().join("fixtures/tabular").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn schema(v: Value) -> TableSchema {
    serde_json::from_value(v).unwrap()
}

const ADULT_NAMES: [&str; 15] = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
];
const ADULT_NUMERIC: [&str; 6] = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"];

/// The `[data]` section for Adult, as in examples/data/adult.toml.
fn adult_schema() -> TableSchema {
    schema(json!({
        "path": "data/adult/adult.data.gz",
        "format": "csv",
        "header": false,
        "names": ADULT_NAMES,
        "label": "income",
        "numeric": ADULT_NUMERIC,
        "categorical": "rest",
    }))
}

fn location_schema() -> TableSchema {
    schema(json!({
        "path": "data/location/bangkok.csv.gz",
        "header": false,
        "label": "0",
        "numeric": "rest",
    }))
}

fn load(s: &TableSchema) -> Table {
    match load_table(s, &root(), &TableOptions::default()) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

fn close(a: f64, e: f64, what: &str) {
    let tol = 1e-5 * e.abs().max(1.0);
    assert!((a - e).abs() <= tol, "{what}: got {a}, expected {e}");
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

/// Checks one encoding variant (`all_rows`, `fit_even_rows`, `unstandardized`).
fn check_variant(table: &Table, s: &TableSchema, rows: &[usize], exp: &Value, what: &str) -> Encoding {
    let enc = Encoding::fit(table, s, rows).unwrap();
    assert_eq!(enc.feature_names(), strings(&exp["feature_names"]), "{what}: feature names");
    let x = enc.transform(table).unwrap();
    assert_eq!(x.dim(), (table.len(), enc.dim()));
    let sums = floats(&exp["sum"]);
    for (j, col) in x.columns().into_iter().enumerate() {
        let s: f64 = col.iter().map(|&v| f64::from(v)).sum();
        close(s, sums[j], &format!("{what}: sum of feature {j} ({})", enc.feature_names()[j]));
    }
    for (i, row) in exp["first_rows"].as_array().unwrap().iter().enumerate() {
        for (j, e) in floats(row).into_iter().enumerate() {
            close(f64::from(x[[i, j]]), e, &format!("{what}: x[{i}, {j}]"));
        }
    }
    if let Some(params) = exp.get("numeric_params") {
        for f in &enc.features {
            if let mia_data::tabular::FeatureEncoding::Numeric { column, mean, scale, .. } = f {
                let p = floats(&params[column.as_str()]);
                assert!((mean - p[0]).abs() <= 1e-9 * p[0].abs().max(1.0), "{what}: mean of {column}");
                assert!((scale - p[1]).abs() <= 1e-9 * p[1].abs().max(1.0), "{what}: scale of {column}");
            }
        }
    }
    enc
}

fn check_dataset(table: &Table, s: &TableSchema, exp: &Value) {
    assert_eq!(table.len() as u64, exp["rows"].as_u64().unwrap());
    assert_eq!(table.rows_read, table.len());
    assert!(table.skipped.is_empty());
    assert_eq!(table.classes, strings(&exp["classes"]));
    let counts: Vec<usize> =
        exp["class_counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(table.class_counts(), counts);
    let first: Vec<usize> =
        exp["first_labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(&table.labels[..first.len()], first.as_slice());
    let all: Vec<usize> = (0..table.len()).collect();
    check_variant(table, s, &all, &exp["all_rows"], "all rows");
    let even: Vec<usize> = (0..table.len()).step_by(2).collect();
    check_variant(table, s, &even, &exp["fit_even_rows"], "fit on even rows");
    let mut raw = s.clone();
    raw.standardize = false;
    check_variant(table, &raw, &all, &exp["unstandardized"], "standardize = false");
}

#[test]
fn adult_matches_the_pandas_encoding() {
    let s = adult_schema();
    let t = load(&s);
    check_dataset(&t, &s, &expected("adult_expected.json"));
    assert_eq!(t.classes, ["<=50K", ">50K"]);
    assert_eq!(t.ids[..3], ["1", "2", "3"]);
    assert_eq!(t.source_rows[32_560], 32_561);
    assert!(t.member.is_none());
    // Every file read is fingerprinted (compressed bytes).
    assert_eq!(t.inputs.len(), 1);
    assert_eq!(t.inputs[0].bytes, std::fs::metadata(root().join("data/adult/adult.data.gz")).unwrap().len());
    assert_eq!(t.inputs[0].sha256.len(), 64);
    // Missing "?" in categorical columns are categories of their own.
    let wc = t.column("workclass").unwrap();
    assert_eq!(wc.n_missing(), 1836);
    let enc = Encoding::fit_all(&t, &s).unwrap();
    assert!(enc.feature_names().contains(&"workclass=?".to_string()));
    assert!(t.notes.iter().any(|n| n.contains("1836 missing")), "{:?}", t.notes);
}

#[test]
fn adult_test_file_with_comment_line_and_label_map() {
    let mut s = adult_schema();
    s.path = "data/adult/adult.test.gz".into();
    s.comment = Some('|');
    s.label_map = [("<=50K.", "<=50K"), (">50K.", ">50K")].into_iter().map(|(a, b)| (a.into(), b.into())).collect();
    let t = load(&s);
    check_dataset(&t, &s, &expected("adult_test_expected.json"));
    // An encoding fitted on adult.data applies to adult.test: unseen categories are zeros.
    let train = load(&adult_schema());
    let enc = Encoding::fit_all(&train, &adult_schema()).unwrap();
    let x = enc.transform(&t).unwrap();
    assert_eq!(x.dim(), (16_281, enc.dim()));
}

#[test]
fn location_matches_the_pandas_encoding() {
    let s = location_schema();
    let t = load(&s);
    check_dataset(&t, &s, &expected("location_expected.json"));
    assert_eq!(t.classes.len(), 30);
    assert_eq!(t.classes[0], "1");
    assert_eq!(t.classes[9], "10");
    assert_eq!(t.classes[29], "30");
    assert_eq!(t.columns.len(), 446);
    assert_eq!(t.columns[0].name, "1");
    assert_eq!(t.columns[445].name, "446");
    assert!(t.columns.iter().all(|c| c.is_numeric()));
}

#[test]
fn the_sample_matches_pandas_and_parquet_gives_the_same_table() {
    let s = schema(json!({
        "path": "fixtures/tabular/adult_sample.csv",
        "id": "id",
        "member": "member",
        "label": "income",
        "numeric": ADULT_NUMERIC,
        "categorical": "rest",
    }));
    let csv = load(&s);
    check_dataset(&csv, &s, &expected("adult_sample_expected.json"));
    assert_eq!(csv.ids[0], "adult-000");
    let member = csv.member.as_ref().unwrap();
    assert_eq!(member[..4], [false, true, false, true]);
    let ColumnValues::Numeric(age) = &csv.column("age").unwrap().values else { panic!("age not numeric") };
    assert!(age[3].is_nan() && age[5].is_nan() && !age[4].is_nan());
    let ColumnValues::Categorical(wc) = &csv.column("workclass").unwrap().values else { panic!() };
    assert_eq!(wc.get(7), Some(""));
    assert!(wc.missing[wc.codes[7] as usize]);

    let mut p = s.clone();
    p.path = "fixtures/tabular/adult_sample.parquet".into();
    let r = load_table(&p, &root(), &TableOptions::default());
    #[cfg(feature = "parquet")]
    {
        let pq = r.unwrap();
        assert_eq!(pq.ids, csv.ids);
        assert_eq!(pq.source_rows, csv.source_rows);
        assert_eq!(pq.labels, csv.labels);
        assert_eq!(pq.classes, csv.classes);
        assert_eq!(pq.member, csv.member);
        assert_eq!(pq.rows_read, csv.rows_read);
        assert_eq!(pq.skipped, csv.skipped);
        assert_eq!(pq.notes, csv.notes);
        assert_eq!(pq.columns.len(), csv.columns.len());
        for (a, b) in pq.columns.iter().zip(&csv.columns) {
            assert_eq!(a.name, b.name);
            match (&a.values, &b.values) {
                (ColumnValues::Numeric(x), ColumnValues::Numeric(y)) => {
                    assert_eq!(x.len(), y.len());
                    for (u, v) in x.iter().zip(y) {
                        assert!(u == v || (u.is_nan() && v.is_nan()), "{}: {u} vs {v}", a.name);
                    }
                }
                (x, y) => assert_eq!(x, y, "{}", a.name),
            }
        }
        let e = Encoding::fit_all(&csv, &s).unwrap();
        assert_eq!(e.transform(&pq).unwrap(), e.transform(&csv).unwrap());
        assert_eq!(Encoding::fit_all(&pq, &p).unwrap(), e);
        // `format` overrides the name; `names` renames a Parquet file's columns by position.
        let mut renamed = p.clone();
        let mut names: Vec<String> = ["key", "in"].iter().map(|s| s.to_string()).collect();
        names.extend(ADULT_NAMES.iter().map(|s| s.to_string()));
        renamed.names = Some(names);
        renamed.id = Some("key".into());
        renamed.member = Some("in".into());
        renamed.format = Some(mia_data::tabular::DataFormat::Parquet);
        assert_eq!(load(&renamed).ids, csv.ids);
    }
    #[cfg(not(feature = "parquet"))]
    {
        let msg = r.unwrap_err().to_string();
        assert!(msg.contains("Parquet support is not compiled"), "{msg}");
    }
}

#[test]
fn data_section_serde_shape() {
    // Defaults.
    let s = schema(json!({ "path": "x.csv", "label": "y", "numeric": "rest" }));
    assert!(s.header && s.trim && s.standardize);
    assert_eq!(s.missing, ["", "?", "NA"]);
    assert_eq!(s.numeric, ColumnSet::Rest);
    assert_eq!(s.categorical, ColumnSet::List(vec![]));
    assert_eq!(s.delimiter, ',');
    assert_eq!(s, TableSchema { numeric: ColumnSet::Rest, ..TableSchema::new("x.csv", "y") });
    // Round trip, defaults omitted.
    let a = adult_schema();
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["categorical"], json!("rest"));
    assert!(v.get("missing").is_none() && v.get("header").is_some());
    assert_eq!(serde_json::from_value::<TableSchema>(v).unwrap(), a);

    // Unknown keys, bad shorthands and a missing label are errors naming the problem.
    let err = |v: Value| serde_json::from_value::<TableSchema>(v).unwrap_err().to_string();
    let e = err(json!({ "path": "x.csv", "label": "y", "numerics": ["a"] }));
    assert!(e.contains("unknown field `numerics`"), "{e}");
    let e = err(json!({ "path": "x.csv", "label": "y", "numeric": "all" }));
    assert!(e.contains("a list of column names, or \"rest\""), "{e}");
    let e = err(json!({ "path": "x.csv", "numeric": "rest" }));
    assert!(e.contains("missing field `label`"), "{e}");
    let e = err(json!({ "path": "x.csv", "label": "y", "format": "xlsx" }));
    assert!(e.contains("csv") && e.contains("parquet"), "{e}");
    let e = err(json!({ "path": "x.csv", "label": "y", "delimiter": ";;" }));
    assert!(e.contains("char") || e.contains("character"), "{e}");
}

/// The `[data]` section of a TOML config file.
fn toml_data(text: &str) -> Result<TableSchema, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Config {
        data: TableSchema,
    }
    toml::from_str::<Config>(text).map(|c| c.data).map_err(|e| e.to_string())
}

#[test]
fn toml_examples_load() {
    let dir = root().join("examples/data");
    let read = |name: &str| toml_data(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
    let adult = read("adult.toml");
    assert_eq!(adult, TableSchema { path: "../../data/adult/adult.data.gz".into(), ..adult_schema() });
    let location = read("location.toml");
    assert_eq!(location, TableSchema { path: "../../data/location/bangkok.csv.gz".into(), ..location_schema() });
    // Relative paths resolve against the config's folder.
    let t = load_table(&location, &dir, &TableOptions::default()).unwrap();
    assert_eq!(t.len(), 5010);
    let test = read("adult_test.toml");
    assert_eq!(load_table(&test, &dir, &TableOptions::default()).unwrap().len(), 16_281);
}

#[test]
fn toml_errors_name_the_key() {
    let e = toml_data("[data]\npath = \"x.csv\"\nlabel = \"y\"\nnumeric = \"rest\"\ncolour = \"red\"\n").unwrap_err();
    assert!(e.contains("unknown field `colour`") && e.contains("line 5"), "{e}");
    let e = toml_data("[data]\npath = \"x.csv\"\nlabel = \"y\"\nnumeric = \"all\"\n").unwrap_err();
    assert!(e.contains("a list of column names, or \"rest\""), "{e}");
    let e = toml_data("[data]\npath = \"x.csv\"\nlabel = 0\nnumeric = \"rest\"\n").unwrap_err();
    assert!(e.contains("invalid type: integer"), "{e}");
    let ok = toml_data("[data]\npath = \"x.csv\"\nlabel = \"y\"\nnumeric = [\"a\"]\ndelimiter = \";\"\n").unwrap();
    assert_eq!(ok.delimiter, ';');
}

#[test]
fn encoding_serde_and_fingerprint() {
    let s = adult_schema();
    let t = load(&s);
    let e = Encoding::fit_all(&t, &s).unwrap();
    let j = serde_json::to_string(&e).unwrap();
    let back: Encoding = serde_json::from_str(&j).unwrap();
    assert_eq!(back, e);
    assert_eq!(back.fingerprint(), e.fingerprint());
    assert_eq!(e.fingerprint().len(), 64);
    assert_eq!(back.transform(&t).unwrap(), e.transform(&t).unwrap());
    // Another fit differs.
    let even: Vec<usize> = (0..t.len()).step_by(2).collect();
    let e2 = Encoding::fit(&t, &s, &even).unwrap();
    assert_ne!(e2.fingerprint(), e.fingerprint());
    // Fitting twice gives the same fingerprint.
    assert_eq!(Encoding::fit_all(&t, &s).unwrap().fingerprint(), e.fingerprint());
    let v: Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["version"], json!(1));
    assert_eq!(
        v["features"][0],
        json!({
            "kind": "numeric",
            "column": "age",
            "mean": v["features"][0]["mean"],
            "scale": v["features"][0]["scale"],
            "standardize": true,
        })
    );
    let mut bad = v.clone();
    bad["features"][1]["extra"] = json!(1);
    assert!(serde_json::from_value::<Encoding>(bad).is_err());
}

/// One million Adult rows (the file repeated), to check that reading is linear. Ignored by
/// default; run in release with `-- --ignored --nocapture`.
#[test]
#[ignore]
fn million_rows() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let text = gunzip(&root().join("data/adult/adult.data.gz"));
    let p = dir.path().join("big.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    let mut n = 0;
    while n < 1_000_000 {
        f.write_all(&text).unwrap();
        n += 32_561;
    }
    drop(f);
    let mut s = adult_schema();
    s.path = p;
    let t0 = Instant::now();
    let t = load(&s);
    let t1 = Instant::now();
    let e = Encoding::fit_all(&t, &s).unwrap();
    let x = e.transform(&t).unwrap();
    println!(
        "{} rows: load {:.2} s, fit + transform {:.2} s ({} features)",
        t.len(),
        (t1 - t0).as_secs_f64(),
        t1.elapsed().as_secs_f64(),
        x.ncols()
    );
}

/// The decompressed bytes of a gzip file.
fn gunzip(p: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(p).unwrap()).read_to_end(&mut out).unwrap();
    out
}

//! CSV files as serde rows: the header comes from a struct's field names and a bad value is an
//! error naming the file, the line and the column (`probe.csv:3: column `estimator`: …`).
//!
//! Rows are read through a small serde deserializer of our own (a map of column → field)
//! rather than the csv crate's: the csv crate reports serde's own errors (an unknown estimator
//! name) without the column, and its keys reach serde as bytes, which serde_path_to_error
//! cannot name.
//!
//! Numbers are written as the files always had them (see [`format`]): the csv crate writes
//! floats with ryu (`12.0`), where pglab's summary and report files use Rust's `Display`
//! (`12`).

use std::path::Path;

use anyhow::{Context, anyhow};
use csv::StringRecord;
use serde::Serialize;
use serde::de::value::{Error as ValueError, MapDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, Visitor};

/// A CSV file's header and rows.
pub struct Table {
    pub header: StringRecord,
    pub rows: Vec<StringRecord>,
}

impl Table {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let mut reader =
            csv::Reader::from_path(path).with_context(|| format!("{}", path.display()))?;
        let header = reader
            .headers()
            .with_context(|| format!("{}", path.display()))?
            .clone();
        let rows = reader
            .records()
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}", path.display()))?;
        Ok(Self { header, rows })
    }
}

/// Every row of the CSV file `path` as a `T`, its columns matched by name (others ignored).
pub fn read<T: DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    let table = Table::read(path)?;
    table
        .rows
        .iter()
        .map(|row| parse(path, &table.header, row))
        .collect()
}

/// `row` (with column names `header`) as a `T`; an error names `path`, the row's line and the
/// column that did not parse.
pub fn parse<T: DeserializeOwned>(
    path: &Path,
    header: &StringRecord,
    row: &StringRecord,
) -> anyhow::Result<T> {
    let fields = header.iter().zip(row.iter()).map(|(k, v)| (k, Field(v)));
    let map = MapDeserializer::<_, ValueError>::new(fields);
    serde_path_to_error::deserialize(map).map_err(|e| {
        let line = row.position().map_or(0, |p| p.line());
        let place = format!("{}:{line}", path.display());
        match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => {
                anyhow!("{place}: column `{key}`: {}", e.inner())
            }
            _ => anyhow!("{place}: {}", e.inner()),
        }
    })
}

/// One CSV field as serde sees it: empty is `None`, numbers parse from the text, an enum is
/// its variant's name, anything else is the text.
struct Field<'a>(&'a str);

impl Field<'_> {
    fn number(&self) -> Result<f64, ValueError> {
        self.0
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("{:?} is not a number", self.0)))
    }

    fn whole(&self) -> Result<u64, ValueError> {
        self.0
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("{:?} is not a whole number", self.0)))
    }
}

impl<'de> IntoDeserializer<'de, ValueError> for Field<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Field<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        if self.0.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_f64(self.number()?)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_f64(self.number()?)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_u64(self.whole()?)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0.trim() {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            other => Err(de::Error::custom(format!("{other:?} is not true or false"))),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_u64(self.whole()?)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::value::BorrowedStrDeserializer::new(self.0).deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u128 char str string bytes byte_buf unit unit_struct
        newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The field names of the struct `T` in declaration order, as serde spells them: the columns a
/// row of `T` has. Serde hands a struct's deserializer this list before reading anything.
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ValueError> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, ValueError> {
        *self.0 = fields;
        Err(de::Error::custom("field names only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// A CSV file: `header`, then each row flattened into fields (a row may hold a list of values,
/// for columns a struct cannot name, such as a sweep's grid keys). The header is written even
/// when there are no rows.
pub fn write<T: Serialize>(header: &[&str], rows: &[T]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.serialize(row)?;
    }
    Ok(writer.into_inner()?)
}

/// How pglab's CSV files write numbers, as `serialize_with` functions.
pub mod format {
    use serde::Serializer;

    /// Rust's `Display`: the shortest text that reads back as the same f64 (`12`, `0.1`, `NaN`);
    /// empty for none.
    pub fn display<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    /// Like [`display`], and empty for NaN too: a figure that has no value.
    pub fn exact<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        display(&x.filter(|v| !v.is_nan()), s)
    }

    /// One decimal (`1.5`): seconds and token rates. Empty for none.
    pub fn one_decimal<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(v) => s.collect_str(&format_args!("{v:.1}")),
            None => s.serialize_none(),
        }
    }

    /// One decimal, of a value always there.
    pub fn one_decimal_always<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        one_decimal(&Some(*x), s)
    }

    /// Six decimals (`2.302585`): losses. Empty for none.
    pub fn six_decimals<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(v) => s.collect_str(&format_args!("{v:.6}")),
            None => s.serialize_none(),
        }
    }

    /// Seven significant digits in scientific notation (`3.000000e-4`): learning rates.
    pub fn scientific<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{x:.6e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pglab_estimator::Estimator;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        name: String,
        #[serde(rename = "train.estimator")]
        estimator: Estimator,
        count: usize,
        #[serde(serialize_with = "format::display")]
        value: Option<f64>,
    }

    fn table(text: &str) -> (StringRecord, Vec<StringRecord>) {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        (header, reader.records().map(Result::unwrap).collect())
    }

    #[test]
    fn field_names_are_the_columns_in_order() {
        assert_eq!(
            field_names::<Row>(),
            ["name", "train.estimator", "count", "value"]
        );
    }

    #[test]
    fn rows_read_by_column_name_and_write_back_the_same() {
        let text = "name,train.estimator,count,value\na,rloo,3,12\nb,dr_grpo,0,\nc,grpo,1,NaN\n";
        let (header, rows) = table(text);
        let parsed: Vec<Row> = rows
            .iter()
            .map(|r| parse(Path::new("t.csv"), &header, r).unwrap())
            .collect();
        assert_eq!(parsed[1].estimator, Estimator::DrGrpo);
        assert_eq!((parsed[0].value, parsed[1].value), (Some(12.0), None));
        let written = write(field_names::<Row>(), &parsed).unwrap();
        assert_eq!(String::from_utf8(written).unwrap(), text);
    }

    #[test]
    fn a_bad_value_names_the_file_line_and_column() {
        let (header, rows) = table("name,train.estimator,count,value\na,ppo,3,1\nb,rloo,x,1\n");
        let err = |i: usize| {
            let e = parse::<Row>(Path::new("t.csv"), &header, &rows[i]).unwrap_err();
            format!("{e:#}")
        };
        assert!(
            err(0).starts_with("t.csv:2: column `train.estimator`: unknown variant `ppo`"),
            "{}",
            err(0)
        );
        assert_eq!(
            err(1),
            "t.csv:3: column `count`: \"x\" is not a whole number"
        );
    }

    #[test]
    fn numbers_keep_their_formats() {
        #[derive(Serialize)]
        struct Numbers {
            #[serde(serialize_with = "format::exact")]
            exact: Option<f64>,
            #[serde(serialize_with = "format::one_decimal")]
            one: Option<f64>,
            #[serde(serialize_with = "format::six_decimals")]
            six: Option<f64>,
            #[serde(serialize_with = "format::scientific")]
            sci: f64,
        }
        let rows = [
            Numbers {
                exact: Some(16.968275735559104),
                one: Some(1.25),
                six: Some(2.0),
                sci: 3e-4,
            },
            Numbers {
                exact: Some(f64::NAN),
                one: None,
                six: None,
                sci: 1.0 / 3.0,
            },
        ];
        let text = String::from_utf8(write(&["e", "o", "s", "l"], &rows).unwrap()).unwrap();
        assert_eq!(
            text,
            "e,o,s,l\n16.968275735559104,1.2,2.000000,3.000000e-4\n,,,3.333333e-1\n"
        );
    }
}

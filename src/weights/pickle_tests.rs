use super::*;
use proptest::prelude::*;

/// `{"a": 1, "b": [-2, 3.5, "x"], "c": None, "d": True}` as Python 3.11 writes it with
/// protocol 2 (`pickle.dumps(..., protocol=2)`, checked with `pickletools.dis`).
const DICT_P2: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02]q\x03(J\xfe\xff\xff\xffG@\x0c\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00xq\x04eX\x01\x00\x00\x00cq\x05NX\x01\x00\x00\x00dq\x06\x88u.";

fn dict_items(v: &Value) -> Vec<(Value, Value)> {
    match v {
        Value::Dict(d) => d.borrow().clone(),
        other => panic!("not a dict: {other:?}"),
    }
}

#[test]
fn evaluates_a_protocol_2_dict() {
    let l = load(DICT_P2, 0).unwrap();
    assert_eq!(l.end, DICT_P2.len());
    let items = dict_items(&l.value);
    let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str().unwrap()).collect();
    assert_eq!(keys, ["a", "b", "c", "d"]);
    assert_eq!(items[0].1.as_int(), Some(1));
    let b = items[1].1.items().unwrap();
    assert_eq!(b[0].as_int(), Some(-2));
    assert!(matches!(b[1], Value::Float(f) if f == 3.5));
    assert_eq!(b[2].as_str(), Some("x"));
    assert!(matches!(items[2].1, Value::None));
    assert!(matches!(items[3].1, Value::Bool(true)));
}

#[test]
fn memo_refers_to_the_object_later_filled() {
    // EMPTY_LIST, BINPUT 0, BINGET 0, K 7, APPEND, TUPLE2, STOP: Python gives ([7], [7]).
    let p = b"\x80\x02]q\x00h\x00K\x07a\x86.";
    let l = load(p, 0).unwrap();
    let t = l.value.items().unwrap();
    assert_eq!(t.len(), 2);
    for v in &t {
        let items = v.items().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_int(), Some(7));
    }
}

#[test]
fn ordered_dict_global_and_persistent_ids() {
    // OrderedDict() filled with one entry whose value is a persistent id ('storage', 5).
    let p = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00kX\x07\x00\x00\x00storageK\x05\x86Qs.";
    let l = load(p, 0).unwrap();
    let items = dict_items(&l.value);
    assert_eq!(items.len(), 1);
    let Value::PersistentId(id) = &items[0].1 else {
        panic!("{:?}", items[0].1)
    };
    let id = id.items().unwrap();
    assert_eq!(id[0].as_str(), Some("storage"));
    assert_eq!(id[1].as_int(), Some(5));
    assert_eq!(l.persistent_ids.len(), 1);
}

#[test]
fn wide_and_negative_longs() {
    // LONG1 of torch's legacy magic number 0x1950a86a20f9469cfc6c, then LONG1 -2 (0xfe).
    let magic = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.";
    let l = load(magic, 0).unwrap();
    assert!(matches!(&l.value, Value::BigInt(b) if b.len() == 10 && b[9] == 0x19));
    let l = load(b"\x80\x02\x8a\x01\xfe.", 0).unwrap();
    assert_eq!(l.value.as_int(), Some(-2));
}

#[test]
fn back_to_back_pickles_report_their_end() {
    let mut two = b"\x80\x02K\x01.".to_vec();
    two.extend_from_slice(b"\x80\x02M\xe9\x03.");
    let a = load(&two, 0).unwrap();
    assert_eq!((a.value.as_int(), a.end), (Some(1), 5));
    let b = load(&two, a.end).unwrap();
    assert_eq!(b.value.as_int(), Some(1001));
}

#[test]
fn every_truncation_is_an_error_with_an_offset() {
    for n in 0..DICT_P2.len() {
        let e = load(&DICT_P2[..n], 0).unwrap_err();
        assert!(e.offset <= n, "{n}: {e}");
    }
}

#[test]
fn unknown_opcode_and_underflow_name_the_byte() {
    let e = load(b"\x80\x02K\x01\xff.", 0).unwrap_err();
    assert_eq!(e.offset, 4);
    assert!(e.msg.contains("0xff"), "{e}");
    let e = load(b"\x80\x02R.", 0).unwrap_err();
    assert_eq!(e.offset, 2);
    assert!(e.msg.contains("underflow"), "{e}");
    let e = load(b"\x80\x02h\x03.", 0).unwrap_err();
    assert!(e.msg.contains("memo slot 3"), "{e}");
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = load(&bytes, 0);
    }

    #[test]
    fn corrupted_dict_never_panics(i in 0..DICT_P2.len(), b in any::<u8>()) {
        let mut p = DICT_P2.to_vec();
        p[i] = b;
        let _ = load(&p, 0);
    }
}

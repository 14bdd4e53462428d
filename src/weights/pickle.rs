//! A pickle evaluator for what `torch.save` writes (protocols 2 to 5, binary opcodes).
//!
//! It builds values instead of running Python: `collections.OrderedDict()` becomes a dict,
//! every other call (`torch._utils._rebuild_tensor_v2(...)`, `numpy` scalars, ...) stays an
//! [`Object`] that the caller interprets, and persistent ids (torch's storage references)
//! stay [`Value::PersistentId`]. Crates such as `serde-pickle` stop at persistent ids, hence
//! this focused one. Containers are shared (`Rc<RefCell<..>>`) because pickle's memo refers
//! to the object that later SETITEMS/APPENDS fill, not to a copy.
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// One Python value.
#[derive(Debug, Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer wider than 64 bits, as little-endian two's-complement bytes (the legacy
    /// torch magic number is one).
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Rc<Vec<Value>>),
    List(Rc<RefCell<Vec<Value>>>),
    /// Insertion-ordered, as Python dicts and `OrderedDict`s are.
    Dict(Rc<RefCell<Vec<(Value, Value)>>>),
    /// A reference to `module.name` (a class or function).
    Global(Rc<(String, String)>),
    Object(Rc<RefCell<Object>>),
    PersistentId(Rc<Value>),
}

/// `func(*args)` that the evaluator did not run, with the state a BUILD gave it.
#[derive(Debug)]
pub struct Object {
    pub func: Value,
    pub args: Vec<Value>,
    pub state: Option<Value>,
}

impl Value {
    /// Python's name for the kind of value, for error messages.
    pub fn kind(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) | Value::BigInt(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(_) => "str".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::Tuple(_) => "tuple".into(),
            Value::List(_) => "list".into(),
            Value::Dict(_) => "dict".into(),
            Value::Global(g) => format!("{}.{}", g.0, g.1),
            Value::Object(o) => match &o.borrow().func {
                Value::Global(g) => format!("{}.{}(...)", g.0, g.1),
                _ => "object".into(),
            },
            Value::PersistentId(_) => "persistent id".into(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    /// `(module, name)` when the value is a global reference.
    pub fn as_global(&self) -> Option<(&str, &str)> {
        match self {
            Value::Global(g) => Some((&g.0, &g.1)),
            _ => None,
        }
    }

    /// The items of a tuple or list (copied: both are small where torch uses them).
    pub fn items(&self) -> Option<Vec<Value>> {
        match self {
            Value::Tuple(t) => Some(t.as_ref().clone()),
            Value::List(l) => Some(l.borrow().clone()),
            _ => None,
        }
    }
}

/// What went wrong, and at which byte of the buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct PickleError {
    pub offset: usize,
    pub msg: String,
}

impl std::fmt::Display for PickleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pickle byte {}: {}", self.offset, self.msg)
    }
}

type PResult<T> = std::result::Result<T, PickleError>;

/// One evaluated pickle.
#[derive(Debug)]
pub struct Loaded {
    pub value: Value,
    /// The offset just past the STOP opcode (the legacy torch format puts several pickles
    /// back to back).
    pub end: usize,
    /// Every persistent id met, in order, including those of values the caller will skip
    /// (a legacy file stores all storages, used or not).
    pub persistent_ids: Vec<Value>,
}

/// Evaluates the pickle that starts at `data[start]`.
pub fn load(data: &[u8], start: usize) -> PResult<Loaded> {
    let mut m = Machine {
        data,
        pos: start,
        op_pos: start,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        persistent_ids: Vec::new(),
    };
    let value = m.run()?;
    Ok(Loaded {
        value,
        end: m.pos,
        persistent_ids: m.persistent_ids,
    })
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    /// Where the opcode being run starts (what errors report).
    op_pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
    persistent_ids: Vec<Value>,
}

impl Machine<'_> {
    fn err<T>(&self, msg: impl Into<String>) -> PResult<T> {
        Err(PickleError {
            offset: self.op_pos,
            msg: msg.into(),
        })
    }

    fn take(&mut self, n: usize) -> PResult<&[u8]> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.data.len() => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => Err(PickleError {
                offset: self.op_pos,
                msg: format!(
                    "truncated: needs {n} bytes at offset {}, the data ends at {}",
                    self.pos,
                    self.data.len()
                ),
            }),
        }
    }

    fn u8(&mut self) -> PResult<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> PResult<u16> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self) -> PResult<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self) -> PResult<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }

    fn len_u64(&mut self) -> PResult<usize> {
        let n = self.u64()?;
        usize::try_from(n).or_else(|_| self.err(format!("length {n} is too large")))
    }

    /// A newline-terminated text argument (protocol 0 opcodes and GLOBAL).
    fn line(&mut self) -> PResult<String> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return self.err("truncated: a text argument has no end of line");
        };
        let s = String::from_utf8_lossy(&rest[..n]).into_owned();
        self.pos += n + 1;
        Ok(s)
    }

    fn utf8(&mut self, n: usize) -> PResult<Value> {
        let bytes = self.take(n)?.to_vec();
        match String::from_utf8(bytes) {
            Ok(s) => Ok(Value::Str(s)),
            Err(_) => self.err("a string is not valid UTF-8"),
        }
    }

    fn pop(&mut self) -> PResult<Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return self.err("stack underflow");
        }
        Ok(self.stack.pop().unwrap_or(Value::None))
    }

    fn top(&self) -> PResult<&Value> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() <= floor {
            return self.err("stack underflow");
        }
        Ok(&self.stack[self.stack.len() - 1])
    }

    fn pop_mark(&mut self) -> PResult<Vec<Value>> {
        let Some(m) = self.marks.pop() else {
            return self.err("no MARK to pop to");
        };
        Ok(self.stack.split_off(m))
    }

    fn memo_get(&self, i: u64) -> PResult<Value> {
        match self.memo.get(&i) {
            Some(v) => Ok(v.clone()),
            None => self.err(format!("memo slot {i} is empty")),
        }
    }

    fn memo_put(&mut self, i: u64) -> PResult<()> {
        let v = self.top()?.clone();
        self.memo.insert(i, v);
        Ok(())
    }

    fn int_bytes(&mut self, n: usize) -> PResult<Value> {
        let b = self.take(n)?;
        if n == 0 {
            return Ok(Value::Int(0));
        }
        if n > 8 {
            return Ok(Value::BigInt(b.to_vec()));
        }
        let fill = if b[n - 1] & 0x80 != 0 { 0xff } else { 0 };
        let mut buf = [fill; 8];
        buf[..n].copy_from_slice(b);
        Ok(Value::Int(i64::from_le_bytes(buf)))
    }

    fn set_items(&mut self, dict: &Value, items: Vec<Value>) -> PResult<()> {
        let Value::Dict(d) = dict else {
            return self.err(format!("SETITEM(S) on a {}", dict.kind()));
        };
        if !items.len().is_multiple_of(2) {
            return self.err("SETITEMS with an odd number of items");
        }
        let mut d = d.borrow_mut();
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            d.push((k, v));
        }
        Ok(())
    }

    fn append(&mut self, list: &Value, items: Vec<Value>) -> PResult<()> {
        match list {
            Value::List(l) => {
                l.borrow_mut().extend(items);
                Ok(())
            }
            other => self.err(format!("APPEND(S) on a {}", other.kind())),
        }
    }

    fn call(&self, func: Value, args: Vec<Value>) -> Value {
        if let Some(("collections", "OrderedDict")) = func.as_global() {
            if args.is_empty() {
                return Value::Dict(Rc::default());
            }
        }
        Value::Object(Rc::new(RefCell::new(Object {
            func,
            args,
            state: None,
        })))
    }

    fn run(&mut self) -> PResult<Value> {
        loop {
            self.op_pos = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return self.err(format!("unsupported pickle protocol {p}"));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: only a read-ahead hint
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    self.pop()?;
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.stack.push(v);
                }
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'J' => {
                    let v = self.u32()? as i32;
                    self.stack.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.stack.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.stack.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let v = self.int_bytes(n)?;
                    self.stack.push(v);
                }
                0x8b => {
                    let n = self.u32()? as usize;
                    let v = self.int_bytes(n)?;
                    self.stack.push(v);
                }
                b'I' | b'L' => {
                    let line = self.line()?;
                    let t = line.trim_end_matches('L');
                    let v = match t {
                        "00" if op == b'I' => Value::Bool(false),
                        "01" if op == b'I' => Value::Bool(true),
                        _ => match t.parse::<i64>() {
                            Ok(i) => Value::Int(i),
                            Err(_) => return self.err(format!("bad integer {line:?}")),
                        },
                    };
                    self.stack.push(v);
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default());
                    self.stack.push(Value::Float(v));
                }
                b'F' => {
                    let line = self.line()?;
                    match line.trim().parse::<f64>() {
                        Ok(f) => self.stack.push(Value::Float(f)),
                        Err(_) => return self.err(format!("bad float {line:?}")),
                    }
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let v = self.utf8(n)?;
                    self.stack.push(v);
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.utf8(n)?;
                    self.stack.push(v);
                }
                0x8d => {
                    let n = self.len_u64()?;
                    let v = self.utf8(n)?;
                    self.stack.push(v);
                }
                // Python 2 byte strings (BINSTRING, SHORT_BINSTRING) read as text, as
                // torch.load does with its default encoding.
                b'T' | b'U' => {
                    let n = if op == b'T' {
                        self.u32()? as usize
                    } else {
                        self.u8()? as usize
                    };
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s));
                }
                b'B' | b'C' | 0x8e | 0x96 => {
                    let n = match op {
                        b'B' => self.u32()? as usize,
                        b'C' => self.u8()? as usize,
                        _ => self.len_u64()?,
                    };
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Value::Bytes(b));
                }
                b')' => self.stack.push(Value::Tuple(Rc::new(Vec::new()))),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(Rc::new(items)));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.stack.push(Value::Tuple(Rc::new(items)));
                }
                b']' => self.stack.push(Value::List(Rc::default())),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(Rc::new(RefCell::new(items))));
                }
                b'a' => {
                    let v = self.pop()?;
                    let list = self.top()?.clone();
                    self.append(&list, vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    let list = self.top()?.clone();
                    self.append(&list, items)?;
                }
                b'}' => self.stack.push(Value::Dict(Rc::default())),
                b'd' => {
                    let items = self.pop_mark()?;
                    let dict = Value::Dict(Rc::default());
                    self.set_items(&dict, items)?;
                    self.stack.push(dict);
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    let dict = self.top()?.clone();
                    self.set_items(&dict, vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let dict = self.top()?.clone();
                    self.set_items(&dict, items)?;
                }
                // Sets become lists: torch state dicts never hold them, other files may.
                0x8f => self.stack.push(Value::List(Rc::default())),
                0x90 => {
                    let items = self.pop_mark()?;
                    let set = self.top()?.clone();
                    self.append(&set, items)?;
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::List(Rc::new(RefCell::new(items))));
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(Rc::new((module, name))));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(Rc::new((m, n))))
                        }
                        (m, n) => {
                            return self.err(format!(
                                "STACK_GLOBAL needs two strings, got {} and {}",
                                m.kind(),
                                n.kind()
                            ))
                        }
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let Value::Tuple(args) = args else {
                        return self.err(format!("REDUCE arguments are a {}", args.kind()));
                    };
                    let v = self.call(func, args.as_ref().clone());
                    self.stack.push(v);
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let args = args.items().unwrap_or_default();
                    let v = self.call(cls, args);
                    self.stack.push(v);
                }
                0x92 => {
                    let _kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let args = args.items().unwrap_or_default();
                    let v = self.call(cls, args);
                    self.stack.push(v);
                }
                b'b' => {
                    let state = self.pop()?;
                    match self.top()? {
                        Value::Object(o) => o.borrow_mut().state = Some(state),
                        // An OrderedDict's attributes (a state dict's `_metadata`): not needed.
                        Value::Dict(_) => {}
                        other => return self.err(format!("BUILD on a {}", other.kind())),
                    }
                }
                b'P' => {
                    let id = Value::Str(self.line()?);
                    self.persistent_ids.push(id.clone());
                    self.stack.push(Value::PersistentId(Rc::new(id)));
                }
                b'Q' => {
                    let id = self.pop()?;
                    self.persistent_ids.push(id.clone());
                    self.stack.push(Value::PersistentId(Rc::new(id)));
                }
                b'p' => {
                    let line = self.line()?;
                    match line.trim().parse::<u64>() {
                        Ok(i) => self.memo_put(i)?,
                        Err(_) => return self.err(format!("bad memo index {line:?}")),
                    }
                }
                b'q' => {
                    let i = self.u8()? as u64;
                    self.memo_put(i)?;
                }
                b'r' => {
                    let i = self.u32()? as u64;
                    self.memo_put(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u64;
                    self.memo_put(i)?;
                }
                b'g' => {
                    let line = self.line()?;
                    let v = match line.trim().parse::<u64>() {
                        Ok(i) => self.memo_get(i)?,
                        Err(_) => return self.err(format!("bad memo index {line:?}")),
                    };
                    self.stack.push(v);
                }
                b'h' => {
                    let i = self.u8()? as u64;
                    let v = self.memo_get(i)?;
                    self.stack.push(v);
                }
                b'j' => {
                    let i = self.u32()? as u64;
                    let v = self.memo_get(i)?;
                    self.stack.push(v);
                }
                other => {
                    return self.err(format!("unsupported or unknown opcode 0x{other:02x}"));
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "pickle_tests.rs"]
mod tests;

/**
 * DWARF type DIEs → the C type model (types.ts). Decoding is lazy: `members`, `target`, `type`,
 * `element`, `enumerators` are getters that read the DIE on first access, so recursive types are
 * object cycles and untouched types cost nothing. One DIE offset gives one object (cached).
 */
import type {
  ArrayType,
  BoolType,
  CompoundType,
  Enumerator,
  EnumType,
  FloatType,
  FunctionType,
  IntType,
  Member,
  PointerType,
  Qualifiers,
  QualifiedType,
  Type,
  TypedefType,
} from '../types';
import { VOID, resolve } from '../types';
import * as C from './constants';
import { Cursor } from '../binary/cursor';
import { attr, DwarfReader, toBig, type Abbrev, type Attr, type Die, type Unit } from './reader';
// Local bindings: module-namespace getters in hot switch statements are slow under some loaders.
const { DW_AT, DW_ATE, DW_FORM, DW_OP, DW_TAG } = C;

/** Finds the definition of an incomplete struct/union/enum by tag and name (other units or modules). */
export type CompleteType = (kind: 'struct' | 'union' | 'enum', name: string) => Type | undefined;

/** gdb's spelling of DWARF base type names (it canonicalizes C integer names: `long unsigned int` → `unsigned long`). */
export function canonicalBaseName(name: string): string {
  const words = name.trim().split(/\s+/);
  const allowed = new Set(['signed', 'unsigned', 'short', 'long', 'int', 'char']);
  if (words.length === 0 || !words.every((w) => allowed.has(w))) return name;
  let signed = false;
  let unsigned = false;
  let shorts = 0;
  let longs = 0;
  let char = false;
  let int = false;
  for (const w of words) {
    if (w === 'signed') signed = true;
    else if (w === 'unsigned') unsigned = true;
    else if (w === 'short') shorts++;
    else if (w === 'long') longs++;
    else if (w === 'char') char = true;
    else int = true;
  }
  if (char) return unsigned ? 'unsigned char' : signed ? 'signed char' : 'char';
  const u = unsigned ? 'unsigned ' : '';
  if (shorts) return `${u}short`;
  if (longs === 1) return `${u}long`;
  if (longs >= 2) return `${u}long long`;
  void int;
  return `${u}int`;
}

/** DW_LANG codes of C++ units: their type names are qualified by namespace and class. */
const CXX_LANGS = new Set([0x0004, 0x001a, 0x0021, 0x0022, 0x002a, 0x002b]);

export class TypeBuilder {
  private readonly cache = new Map<number, Type>();
  private readonly reader: DwarfReader;
  /** Set by the owner to complete declarations from other units/modules. */
  completeType?: CompleteType;
  /** Set by the owner: the C++ scope (`ns::Class::`) a DIE sits in. */
  scopePrefix?: (off: number) => string;
  /** Errors met while decoding (the type becomes void/incomplete instead of throwing). */
  readonly errors: string[] = [];

  constructor(reader: DwarfReader) {
    this.reader = reader;
  }

  /** The type at a .debug_info offset. */
  typeAt(off: number): Type {
    const hit = this.cache.get(off);
    if (hit) return hit;
    let die: Die | undefined;
    try {
      die = this.reader.dieAt(off);
    } catch (e) {
      this.errors.push(`type at 0x${off.toString(16)}: ${(e as Error).message}`);
    }
    if (!die) return VOID;
    return this.fromDie(die);
  }

  /** DW_AT_type of a DIE, or void. */
  typeOf(die: Die): Type {
    const off = this.reader.refTarget(attr(die, DW_AT.type));
    return off === undefined ? VOID : this.typeAt(off);
  }

  private str(die: Die, at: number): string | undefined {
    const a = attr(die, at);
    return a ? this.reader.str(die.unit, a) : undefined;
  }

  /** A type's name as gdb writes it: qualified by its namespaces and classes in C++ units. */
  private qualifiedName(die: Die): string | undefined {
    const name = this.str(die, DW_AT.name);
    if (name === undefined || !this.scopePrefix || !CXX_LANGS.has(die.unit.language ?? -1)) return name;
    // gdb writes C++ names canonically: `allocator<unsigned long>` where DWARF says `long unsigned int`.
    return this.scopePrefix(die.offset) + (name.includes('<') ? canonicalTemplateArgs(name) : name);
  }

  fromDie(die: Die): Type {
    const hit = this.cache.get(die.offset);
    if (hit) return hit;
    const t = this.build(die);
    this.cache.set(die.offset, t);
    return t;
  }

  private build(die: Die): Type {
    const self = this;
    // A skeleton in a compile unit standing for a type defined in a type unit.
    const sig = this.reader.refTarget(attr(die, 0x69 /* DW_AT_signature */));
    if (sig !== undefined && sig !== die.offset) return this.typeAt(sig);
    const size = DwarfReader.constant(attr(die, DW_AT.byte_size));
    switch (die.tag) {
      case DW_TAG.base_type:
        return this.baseType(die, size ?? 0);
      case DW_TAG.unspecified_type:
        return VOID;
      case DW_TAG.pointer_type:
      case 0x1f /* ptr_to_member_type */:
      case DW_TAG.reference_type:
      case 0x42 /* rvalue_reference_type */: {
        let target: Type | undefined;
        const p: PointerType = {
          kind: 'pointer',
          size: size ?? die.unit.addressSize,
          get target() {
            return (target ??= self.typeOf(die));
          },
        };
        if (die.tag === 0x1f /* DW_TAG_ptr_to_member_type */) {
          let cls: Type | undefined;
          const clsOff = this.reader.refTarget(attr(die, 0x1d /* DW_AT_containing_type */));
          Object.defineProperty(p, 'memberOf', { enumerable: true, get: () => (cls ??= clsOff === undefined ? VOID : self.typeAt(clsOff)) });
          // Itanium ABI: a data member pointer is an offset, a method pointer is (function, this adjustment).
          if (size === undefined) Object.defineProperty(p, 'size', { enumerable: true, get: () => (resolve(p.target).kind === 'function' ? 16 : 8) });
          return p;
        }
        if (die.tag === DW_TAG.reference_type) p.reference = 'lvalue';
        else if (die.tag !== DW_TAG.pointer_type) p.reference = 'rvalue';
        return p;
      }
      case DW_TAG.const_type:
      case DW_TAG.volatile_type:
      case DW_TAG.restrict_type:
      case DW_TAG.atomic_type: {
        // Collapse a chain of qualifiers into one QualifiedType (gdb prints `const volatile T`).
        const q: Qualifiers = {};
        let cur: Die | undefined = die;
        let inner: Type = VOID;
        for (let i = 0; i < 8 && cur; i++) {
          if (cur.tag === DW_TAG.const_type) q.const = true;
          else if (cur.tag === DW_TAG.volatile_type) q.volatile = true;
          else if (cur.tag === DW_TAG.restrict_type) q.restrict = true;
          else if (cur.tag === DW_TAG.atomic_type) q.atomic = true;
          else {
            inner = this.fromDie(cur);
            cur = undefined;
            break;
          }
          const next = this.reader.refTarget(attr(cur, DW_AT.type));
          if (next === undefined) {
            inner = VOID;
            cur = undefined;
            break;
          }
          const nxt: Die | undefined = this.reader.dieAt(next);
          cur = nxt;
        }
        // C (and gdb's DWARF reader) puts qualifiers of an array type on its elements.
        if (inner.kind === 'array' && cur === undefined) return qualifyArray(inner, q);
        let innerT = inner;
        let pending = cur;
        const qt: QualifiedType = {
          kind: 'qualified',
          qualifiers: q,
          get type() {
            if (pending) {
              const p = pending;
              pending = undefined;
              innerT = VOID;
              innerT = breakCycle(qt, self.fromDie(p), self.errors, die.offset);
            }
            return innerT;
          },
        };
        return qt;
      }
      case DW_TAG.typedef: {
        let target: Type | undefined;
        let resolving = false;
        const t: TypedefType = {
          kind: 'typedef',
          name: this.qualifiedName(die) ?? '',
          get type() {
            if (target) return target;
            if (resolving) return VOID; // re-entered through a cycle
            resolving = true;
            try {
              target = breakCycle(t, self.typeOf(die), self.errors, die.offset);
            } finally {
              resolving = false;
            }
            return target;
          },
        };
        return t;
      }
      case DW_TAG.structure_type:
      case DW_TAG.union_type:
      case DW_TAG.class_type:
        return this.compound(die, size);
      case DW_TAG.enumeration_type:
        return this.enumType(die, size);
      case DW_TAG.array_type:
        return this.arrayType(die);
      case DW_TAG.subroutine_type:
      case DW_TAG.subprogram:
        return this.functionType(die);
      default:
        return VOID;
    }
  }

  private baseType(die: Die, size: number): Type {
    const rawName = this.str(die, DW_AT.name) ?? '';
    const enc = DwarfReader.constant(attr(die, DW_AT.encoding)) ?? 0;
    switch (enc) {
      case DW_ATE.boolean: {
        const b: BoolType = { kind: 'bool', name: rawName || '_Bool', size };
        return b;
      }
      case DW_ATE.float:
      case DW_ATE.complex_float:
      case DW_ATE.imaginary_float:
      case DW_ATE.decimal_float: {
        const x87 = enc !== DW_ATE.decimal_float && (size === 10 || size === 12 || (size === 16 && /long double/.test(rawName)));
        const complexX87 = enc === DW_ATE.complex_float && (size === 20 || size === 24 || (size === 32 && /long double/.test(rawName)));
        const f: FloatType = { kind: 'float', name: rawName, size, format: x87 || complexX87 ? 'x87' : 'ieee' };
        if (enc === DW_ATE.complex_float) f.complex = true;
        return f;
      }
      case DW_ATE.signed_char:
      case DW_ATE.unsigned_char:
      case DW_ATE.UTF:
      case DW_ATE.ASCII:
      case DW_ATE.UCS: {
        const i: IntType = {
          kind: 'int',
          name: canonicalBaseName(rawName),
          size,
          signed: enc === DW_ATE.signed_char,
          isChar: true,
        };
        return i;
      }
      default: {
        const i: IntType = {
          kind: 'int',
          name: canonicalBaseName(rawName),
          size,
          signed: enc === DW_ATE.signed || enc === DW_ATE.signed_fixed,
          // g++ describes char8_t as DW_ATE_unsigned; gdb's reader makes it a character type.
          isChar: rawName === 'char8_t',
        };
        return i;
      }
    }
  }

  private compound(die: Die, size: number | undefined): Type {
    const self = this;
    const kind: 'struct' | 'union' = die.tag === DW_TAG.union_type ? 'union' : 'struct';
    const rawName = this.str(die, DW_AT.name);
    const name = this.qualifiedName(die);
    const isDecl = !!attr(die, DW_AT.declaration);
    if (isDecl && rawName && this.completeType) {
      // A placeholder first so recursion through the completion cannot loop.
      this.cache.set(die.offset, { kind, name } as CompoundType);
      const def = this.completeType(kind, rawName);
      if (def) {
        this.cache.set(die.offset, def);
        return def;
      }
    }
    if (isDecl) return { kind, name } as CompoundType;
    let members: Member[] | undefined;
    const t: CompoundType = {
      kind,
      name,
      size: size ?? 0,
      get members() {
        return (members ??= self.members(die, kind, name));
      },
    };
    if (die.tag === DW_TAG.class_type) t.isClass = true;
    if (rawName !== undefined) {
      Object.defineProperty(t, 'hasMethods', { enumerable: false, get: () => self.hasMethods(die) });
    }
    return t;
  }

  /** Whether a class declares member functions (gdb's TYPE_NFN_FIELDS, which picks its error wording). */
  private hasMethods(die: Die): boolean {
    try {
      return this.reader.children(die).some((k) => k.tag === DW_TAG.subprogram);
    } catch {
      return false;
    }
  }

  private members(die: Die, kind: 'struct' | 'union', owner?: string): Member[] {
    const out: Member[] = [];
    if (!die.hasChildren) return out;
    // One cursor over the unit for every child. A plain data member (no children, not a
    // declaration: nearly all of them) is decoded straight from its abbreviation, reading only
    // the attributes a Member needs; anything else goes through a full DIE. redis's
    // `struct redisServer` (~600 members) decoded through readDie cost ~5 ms of a warm
    // `eval server.hz`.
    const r = this.reader;
    const u = die.unit;
    let off = die.next;
    try {
      const c = new Cursor(r.s.info, r.s.littleEndian, u.offset, u.end, r.s.file ? `.debug_info of ${r.s.file}` : '.debug_info');
      while (off < u.end) {
        c.seek(off);
        const code = c.uleb();
        if (code === 0) break;
        const ab = u.abbrevList[code] ?? u.abbrevs.get(code) ?? c.fail(`unknown abbreviation code ${code}`, off);
        if (ab.tag === DW_TAG.member && !ab.hasChildren && !ab.attrs.some((a) => a.at === DW_AT.declaration)) {
          this.plainMember(c, u, ab, kind, out);
          off = c.pos;
          continue;
        }
        const m = r.readDie(u, off);
        if (!m) break;
        this.member(m, kind, owner, out);
        off = r.siblingOf(m);
      }
    } catch (e) {
      // As before this fast path: a struct whose member list cannot be read has none.
      this.errors.push(`members of 0x${die.offset.toString(16)}: ${(e as Error).message}`);
      out.length = 0;
    }
    return out;
  }

  /** A plain DW_TAG_member read at the cursor (just past its abbreviation code): the same Member as member() gives. */
  private plainMember(c: Cursor, u: Unit, ab: Abbrev, kind: 'struct' | 'union', out: Member[]): void {
    const r = this.reader;
    let name: string | undefined;
    let typeRef: Attr | undefined;
    let bitSize: number | undefined;
    let dbo: Attr | undefined;
    let dml: Attr | undefined;
    let bo: Attr | undefined;
    let byteSize: number | undefined;
    for (const spec of ab.attrs) {
      switch (spec.at) {
        case DW_AT.name:
          name = r.str(u, { at: spec.at, form: spec.form, value: r.readForm(c, u, spec.form, spec.implicit) });
          break;
        case DW_AT.type:
          typeRef = { at: spec.at, form: spec.form, value: r.readForm(c, u, spec.form, spec.implicit) };
          break;
        case DW_AT.bit_size:
          bitSize = DwarfReader.constant({ at: spec.at, form: spec.form, value: r.readForm(c, u, spec.form, spec.implicit) });
          break;
        case DW_AT.byte_size:
          byteSize = DwarfReader.constant({ at: spec.at, form: spec.form, value: r.readForm(c, u, spec.form, spec.implicit) });
          break;
        case DW_AT.data_bit_offset:
          dbo = { at: spec.at, form: spec.form, value: r.readForm(c, u, spec.form, spec.implicit) };
          break;
        case DW_AT.data_member_location:
          dml = { at: spec.at, form: spec.form, value: r.readForm(c, u, spec.form, spec.implicit) };
          break;
        case DW_AT.bit_offset:
          bo = { at: spec.at, form: spec.form, value: r.readForm(c, u, spec.form, spec.implicit) };
          break;
        default:
          r.skipForm(c, u, spec.form);
      }
    }
    const self = this;
    let type: Type | undefined;
    const typeOf = (): Type => {
      const t = r.refTarget(typeRef);
      return t === undefined ? VOID : self.typeAt(t);
    };
    let bitOffset = 0;
    if (dbo) bitOffset = DwarfReader.constant(dbo) ?? 0;
    else {
      bitOffset = (dml ? memberLocation(dml) : 0) * 8;
      if (bo && bitSize !== undefined) {
        const storage = byteSize ?? sizeOfSafe((type ??= typeOf()));
        const boff = Number(BigInt.asIntN(64, toBig(bo.value)));
        if (r.s.littleEndian) bitOffset += storage * 8 - boff - bitSize;
        else bitOffset += boff;
      }
    }
    if (kind === 'union' && !dml && !dbo) bitOffset = 0;
    const mem: Member = {
      name,
      get type() {
        return (type ??= typeOf());
      },
      bitOffset,
    };
    if (bitSize !== undefined) mem.bitSize = bitSize;
    out.push(mem);
  }

  /** One child DIE of a struct, union or class (any kind) as a Member, if it is one. */
  private member(m: Die, kind: 'struct' | 'union', owner: string | undefined, out: Member[]): void {
    const self = this;
    let type: Type | undefined;
    // C++ static data members: DW_TAG_member declarations (DWARF 4) or DW_TAG_variable (DWARF 5).
    const isStatic = (m.tag === DW_TAG.member && !!attr(m, DW_AT.declaration)) || m.tag === DW_TAG.variable;
    if (isStatic || m.tag === 0x1c /* DW_TAG_inheritance */) {
      const mname = this.str(m, DW_AT.name);
      const extra: Member = {
        name: mname,
        get type() {
          return (type ??= self.typeOf(m));
        },
        bitOffset: 0,
      };
      if (isStatic) {
        if (mname === undefined) return;
        extra.static = { qualifiedName: `${owner ?? ''}::${mname}` };
        const cv = attr(m, DW_AT.const_value);
        if (cv && !Buffer.isBuffer(cv.value)) extra.static.constValue = constValue(cv, true);
      } else {
        const dml = attr(m, DW_AT.data_member_location);
        const isVirtual = !!attr(m, 0x4c /* DW_AT_virtuality */);
        // A virtual base's offset lives in the vtable (the location is an expression).
        extra.bitOffset = dml && !isVirtual ? memberLocation(dml) * 8 : 0;
        extra.base = { virtual: isVirtual };
        // DW_OP_dup; DW_OP_deref; DW_OP_lit24; DW_OP_minus; DW_OP_deref; DW_OP_plus: from the vtable.
        if (isVirtual && dml && Buffer.isBuffer(dml.value)) extra.base.offsetExpr = Buffer.from(dml.value);
      }
      out.push(extra);
      return;
    }
    if (m.tag !== DW_TAG.member) return;
    const name = this.str(m, DW_AT.name);
    const bitSize = DwarfReader.constant(attr(m, DW_AT.bit_size));
    let bitOffset = 0;
    const dbo = attr(m, DW_AT.data_bit_offset);
    const dml = attr(m, DW_AT.data_member_location);
    if (dbo) bitOffset = DwarfReader.constant(dbo) ?? 0;
    else {
      let byteOff = 0;
      if (dml) byteOff = memberLocation(dml);
      bitOffset = byteOff * 8;
      const bo = attr(m, DW_AT.bit_offset);
      if (bo && bitSize !== undefined) {
        // DWARF 2/3: bit_offset counts from the most significant bit of the storage unit.
        const storage = DwarfReader.constant(attr(m, DW_AT.byte_size)) ?? sizeOfSafe(this.typeOf(m));
        const boff = Number(BigInt.asIntN(64, toBig(bo.value)));
        if (this.reader.s.littleEndian) bitOffset += storage * 8 - boff - bitSize;
        else bitOffset += boff;
      }
    }
    if (kind === 'union' && !dml && !dbo) bitOffset = 0;
    const mem: Member = {
      name,
      get type() {
        return (type ??= self.typeOf(m));
      },
      bitOffset,
    };
    if (bitSize !== undefined) mem.bitSize = bitSize;
    out.push(mem);
  }

  private enumType(die: Die, size: number | undefined): Type {
    const self = this;
    const rawName = this.str(die, DW_AT.name);
    const name = this.qualifiedName(die);
    if (attr(die, DW_AT.declaration) && rawName && this.completeType) {
      this.cache.set(die.offset, { kind: 'enum', name } as EnumType);
      const def = this.completeType('enum', rawName);
      if (def) {
        this.cache.set(die.offset, def);
        return def;
      }
      return { kind: 'enum', name } as EnumType;
    }
    let enumerators: Enumerator[] | undefined;
    let compat: IntType | undefined | null = null;
    const compatible = (): IntType | undefined => {
      if (compat !== null) return compat;
      compat = undefined;
      const target = self.reader.refTarget(attr(die, DW_AT.type));
      if (target !== undefined) {
        const r = resolve(self.typeAt(target));
        if (r.kind === 'int') compat = r;
        else if (r.kind === 'bool') compat = { kind: 'int', name: r.name, size: r.size, signed: false, isChar: false };
      }
      if (!compat) {
        const sz = size ?? 4;
        const neg = self.enumerators(die, true).some((e) => e.value < 0n);
        compat = { kind: 'int', name: intNameFor(sz, neg), size: sz, signed: neg, isChar: false };
      }
      return compat;
    };
    const t: EnumType = {
      kind: 'enum',
      name,
      size: size,
      get compatible() {
        return compatible();
      },
      get enumerators() {
        return (enumerators ??= self.enumerators(die, compatible()?.signed ?? false));
      },
    };
    if (attr(die, DW_AT.enum_class)) t.scoped = true;
    if (CXX_LANGS.has(die.unit.language ?? -1) && this.scopePrefix) {
      // Enumerators of a plain enum live in the enclosing scope; those of an enum class in the enum.
      const p = t.scoped ? (name !== undefined ? `${name}::` : '') : this.scopePrefix(die.offset);
      if (p) t.enumeratorPrefix = p;
    }
    return t;
  }

  private enumerators(die: Die, signed: boolean): Enumerator[] {
    const out: Enumerator[] = [];
    for (const e of this.reader.children(die)) {
      if (e.tag !== DW_TAG.enumerator) continue;
      const name = this.str(e, DW_AT.name) ?? '';
      const a = attr(e, DW_AT.const_value);
      out.push({ name, value: a ? constValue(a, signed) : 0n });
    }
    return out;
  }

  private arrayType(die: Die): Type {
    const self = this;
    let dims: Array<{ length?: number; vla?: boolean }> = [];
    try {
      for (const k of this.reader.children(die)) {
        if (k.tag !== DW_TAG.subrange_type && k.tag !== 0x2c /* enumeration subrange */) continue;
        dims.push(this.subrange(k));
      }
    } catch (e) {
      this.errors.push(`array at 0x${die.offset.toString(16)}: ${(e as Error).message}`);
    }
    if (dims.length === 0) dims = [{}];
    let elem: Type | undefined;
    let resolvingElem = false;
    const element = (): Type => {
      if (elem) return elem;
      if (resolvingElem) return VOID;
      resolvingElem = true;
      try {
        elem = breakCycle(outermost, self.typeOf(die), self.errors, die.offset);
      } finally {
        resolvingElem = false;
      }
      return elem;
    };
    let outermost: Type = VOID;
    // Innermost first, so each outer array's element is the next inner one.
    let inner: ArrayType | undefined;
    for (let i = dims.length - 1; i >= 0; i--) {
      const d = dims[i];
      const innerRef = inner;
      const a: ArrayType = {
        kind: 'array',
        get element() {
          return innerRef ?? element();
        },
      };
      if (d.length !== undefined) a.length = d.length;
      if (d.vla) a.variableLength = true;
      inner = a;
    }
    outermost = inner!;
    return inner!;
  }

  private subrange(k: Die): { length?: number; vla?: boolean } {
    const count = attr(k, DW_AT.count);
    const upper = attr(k, DW_AT.upper_bound);
    const lower = attr(k, DW_AT.lower_bound);
    const isConst = (a: Attr) =>
      a.form !== DW_FORM.exprloc &&
      a.form !== DW_FORM.ref4 &&
      a.form !== DW_FORM.ref_udata &&
      a.form !== DW_FORM.ref1 &&
      a.form !== DW_FORM.ref2 &&
      a.form !== DW_FORM.ref8 &&
      a.form !== DW_FORM.ref_addr &&
      a.form !== DW_FORM.sec_offset &&
      !Buffer.isBuffer(a.value);
    const lo = lower && isConst(lower) ? Number(BigInt.asIntN(64, toBig(lower.value))) : 0;
    if (count) {
      if (!isConst(count)) return { vla: true };
      return { length: Math.max(0, Number(toBig(count.value))) };
    }
    if (upper) {
      if (!isConst(upper)) return { vla: true };
      let up = toBig(upper.value);
      // Fixed-size data forms carry no sign: gcc writes -1 (all ones) for zero-length arrays,
      // while 253 in a data1 is just 253.
      const bits = upper.form === DW_FORM.data1 ? 8 : upper.form === DW_FORM.data2 ? 16 : upper.form === DW_FORM.data4 ? 32 : 64;
      // Only 4- and 8-byte all-ones mean -1: `lu_byte log_2[256]` has upper bound 255 in a data1.
      if (upper.form !== DW_FORM.udata && upper.form !== DW_FORM.sdata && bits >= 32 && BigInt.asIntN(bits, up) === -1n) up = -1n;
      const n = Number(up) - lo + 1;
      return { length: Math.max(0, n) };
    }
    return {};
  }

  private functionType(die: Die): FunctionType {
    const self = this;
    let params: Type[] | undefined;
    let variadic = false;
    let ret: Type | undefined;
    const load = () => {
      if (params) return;
      params = [];
      for (const k of self.reader.children(die)) {
        if (k.tag === DW_TAG.formal_parameter) {
          let pt = self.typeOf(k);
          // gdb makes C++'s artificial `this` a const pointer (`const ns::Widget * const`).
          if (attr(k, 0x34 /* DW_AT_artificial */) && pt.kind === 'pointer' && CXX_LANGS.has(die.unit.language ?? -1))
            pt = { kind: 'qualified', qualifiers: { const: true }, type: pt };
          params.push(pt);
        } else if (k.tag === DW_TAG.unspecified_parameters) variadic = true;
      }
    };
    const f: FunctionType = {
      kind: 'function',
      get returnType() {
        return (ret ??= self.typeOf(die));
      },
      get parameters() {
        load();
        return params!;
      },
      get variadic() {
        load();
        return variadic;
      },
      prototyped: !!attr(die, DW_AT.prototyped),
    };
    return f;
  }
}

/** An array whose (innermost) elements carry the qualifiers `q`. */
export function qualifyArray(a: ArrayType, q: Qualifiers): ArrayType {
  let elem: Type | undefined;
  const out: ArrayType = {
    kind: 'array',
    get element() {
      if (elem) return elem;
      const e = a.element;
      if (e.kind === 'array') elem = qualifyArray(e, q);
      else if (e.kind === 'qualified') elem = { kind: 'qualified', qualifiers: { ...e.qualifiers, ...q }, type: e.type } as QualifiedType;
      else elem = { kind: 'qualified', qualifiers: q, type: e } as QualifiedType;
      return elem;
    },
  };
  if (a.length !== undefined) out.length = a.length;
  if (a.variableLength) out.variableLength = true;
  return out;
}

/**
 * Malicious DWARF can make a typedef name itself, or an array contain itself: follow the chain
 * of typedefs, qualifiers and array elements from `target`, and give void instead when it comes
 * back to `self` (consumers such as resolve() and sizeOf() would otherwise never end).
 */
function breakCycle(self: Type, target: Type, errors: string[], off: number): Type {
  let cur: Type = target;
  for (let i = 0; i < 256; i++) {
    if (cur === self) {
      errors.push(`type at 0x${off.toString(16)} refers to itself; shown as void`);
      return VOID;
    }
    if (cur.kind === 'typedef' || cur.kind === 'qualified') cur = cur.type;
    else if (cur.kind === 'array') cur = cur.element;
    else return target;
  }
  errors.push(`type at 0x${off.toString(16)}: chain of typedefs/arrays too long; shown as void`);
  return VOID;
}

function memberLocation(a: Attr): number {
  if (Buffer.isBuffer(a.value)) {
    // DWARF 2: DW_OP_plus_uconst N (or DW_OP_constu N).
    const b = a.value;
    if (b.length > 0 && (b[0] === DW_OP.plus_uconst || b[0] === DW_OP.constu)) {
      let r = 0;
      let mul = 1;
      for (let i = 1; i < b.length && i < 10; i++) {
        r += (b[i] & 0x7f) * mul;
        if (b[i] < 0x80) break;
        mul *= 128;
      }
      return r;
    }
    return 0;
  }
  return Number(toBig(a.value));
}

const CANONICAL_INTS: Array<[RegExp, string]> = [
  [/\blong long unsigned int\b/g, 'unsigned long long'],
  [/\blong long int\b/g, 'long long'],
  [/\blong unsigned int\b/g, 'unsigned long'],
  [/\bshort unsigned int\b/g, 'unsigned short'],
  [/\blong int\b/g, 'long'],
  [/\bshort int\b/g, 'short'],
];

/** Integer type names inside template arguments as gdb canonicalizes C++ names. */
export function canonicalTemplateArgs(name: string): string {
  let out = name;
  for (const [re, to] of CANONICAL_INTS) out = out.replace(re, to);
  return out;
}

function constValue(a: Attr, signed: boolean): bigint {
  const v = a.value;
  if (a.form === DW_FORM.sdata) return v as bigint;
  if (a.form === DW_FORM.udata) return v as bigint;
  const bits = a.form === DW_FORM.data1 ? 8 : a.form === DW_FORM.data2 ? 16 : a.form === DW_FORM.data4 ? 32 : 64;
  const u = toBig(v);
  return signed ? BigInt.asIntN(bits, u) : u;
}

function intNameFor(size: number, signed: boolean): string {
  const base = size === 1 ? 'char' : size === 2 ? 'short' : size === 8 ? 'long' : 'int';
  return signed ? (base === 'char' ? 'signed char' : base) : `unsigned ${base}`;
}

function sizeOfSafe(t: Type): number {
  const r = resolve(t);
  if (r.kind === 'int' || r.kind === 'bool' || r.kind === 'float' || r.kind === 'pointer') return r.size;
  if (r.kind === 'enum') return r.size ?? 4;
  return 4;
}

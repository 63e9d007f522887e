/**
 * The C type model: a small closed set of kinds (drgn's model). A typedef is a kind of its own,
 * qualifiers wrap a type, members carry bit offsets and bit sizes.
 *
 * Types coming from DWARF are built lazily: properties such as `members`, `type` or `element`
 * may be getters that decode the DIE on first access, so recursive types (struct node { struct
 * node *next; }) are plain object cycles. Consumers must treat every Type as immutable.
 */
export type Type = VoidType | IntType | BoolType | FloatType | PointerType | QualifiedType | TypedefType | CompoundType | EnumType | ArrayType | FunctionType;

export interface VoidType {
  kind: 'void';
}

/** Integer types, including the char types. */
export interface IntType {
  kind: 'int';
  name: string;
  size: number;
  signed: boolean;
  /** char, signed char, unsigned char (and DW_ATE_UTF char8_t/char16_t/char32_t): printed as characters. */
  isChar: boolean;
}

export interface BoolType {
  kind: 'bool';
  name: string;
  size: number;
}

/** float, double, long double (x87 80-bit in 16 bytes on x86-64), _Float128, complex types later. */
export interface FloatType {
  kind: 'float';
  name: string;
  size: number;
  /** 'ieee' for float/double/_Float128, 'x87' for x86 long double. */
  format: 'ieee' | 'x87';
  complex?: boolean;
}

export interface PointerType {
  kind: 'pointer';
  size: number;
  readonly target: Type;
  /** C++ references (`int &`, `int &&`): a pointer underneath, the referent everywhere else. */
  reference?: 'lvalue' | 'rvalue';
  /** C++ pointers to members (`int Widget::*`): the class; the value is an offset or a method. */
  readonly memberOf?: Type;
}

export interface Qualifiers {
  const?: boolean;
  volatile?: boolean;
  restrict?: boolean;
  atomic?: boolean;
}

export interface QualifiedType {
  kind: 'qualified';
  qualifiers: Qualifiers;
  readonly type: Type;
}

export interface TypedefType {
  kind: 'typedef';
  name: string;
  readonly type: Type;
}

export interface Member {
  /** Undefined for anonymous struct/union members. */
  name?: string;
  readonly type: Type;
  /** Offset from the start of the enclosing object, in bits. */
  bitOffset: number;
  /** Set for bit fields only. */
  bitSize?: number;
  /** C++: a base class subobject (DW_TAG_inheritance), printed `<Base> = {…}`. */
  base?: { virtual: boolean; offsetExpr?: Uint8Array };
  /** C++: a static data member (no storage in the object); its storage is the variable `qualifiedName`. */
  static?: { qualifiedName: string; constValue?: bigint };
}

export interface CompoundType {
  kind: 'struct' | 'union';
  /** C++ `class` (DW_TAG_class_type): gdb's C printer says `class X`. */
  isClass?: boolean;
  /** C++: the class declares member functions (gdb then says "no member or method named"). */
  readonly hasMethods?: boolean;
  /** Tag name, without 'struct '; undefined when anonymous. */
  name?: string;
  /** Undefined for an incomplete type (a declaration whose definition was not found). */
  size?: number;
  /** Undefined for an incomplete type. */
  readonly members?: Member[];
}

export interface Enumerator {
  name: string;
  value: bigint;
}

export interface EnumType {
  kind: 'enum';
  name?: string;
  /** C++ `enum class` (DW_AT_enum_class): enumerators print as `Name::Enumerator`. */
  scoped?: boolean;
  /** C++: how gdb qualifies the enumerators (`std::` for an enum in namespace std, `Mode::` for an enum class). */
  enumeratorPrefix?: string;
  size?: number;
  /** The underlying integer type (DW_AT_type, or derived from size and signedness). */
  readonly compatible?: IntType;
  readonly enumerators?: Enumerator[];
}

export interface ArrayType {
  kind: 'array';
  readonly element: Type;
  /** Undefined for flexible, incomplete or variable-length arrays. */
  length?: number;
  /** True for VLAs: the length lives in a runtime variable we cannot evaluate without a frame. */
  variableLength?: boolean;
}

export interface FunctionType {
  kind: 'function';
  readonly returnType: Type;
  readonly parameters: Type[];
  variadic: boolean;
  /** False for K&R declarations without a prototype. */
  prototyped: boolean;
}

export const VOID: VoidType = { kind: 'void' };

/** Strips typedefs and qualifiers (C's "unqualified, resolved" type). */
export function resolve(t: Type): Type {
  let cur = t;
  while (cur.kind === 'typedef' || cur.kind === 'qualified') cur = cur.type;
  return cur;
}

/** Size in bytes, or undefined for void, functions, incomplete types and unsized arrays. */
export function sizeOf(t: Type): number | undefined {
  const r = resolve(t);
  switch (r.kind) {
    case 'void':
    case 'function':
      return undefined;
    case 'int':
    case 'bool':
    case 'float':
    case 'pointer':
      return r.size;
    case 'struct':
    case 'union':
      return r.size;
    case 'enum':
      return r.size ?? r.compatible?.size;
    case 'array': {
      if (r.length === undefined) return undefined;
      const e = sizeOf(r.element);
      return e === undefined ? undefined : e * r.length;
    }
  }
  return undefined;
}

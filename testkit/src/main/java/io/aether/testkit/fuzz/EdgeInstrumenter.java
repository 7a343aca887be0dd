package io.aether.testkit.fuzz;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.CodeElement;
import java.lang.classfile.CodeModel;
import java.lang.classfile.CodeTransform;
import java.lang.classfile.Label;
import java.lang.classfile.MethodModel;
import java.lang.classfile.MethodTransform;
import java.lang.classfile.Opcode;
import java.lang.classfile.instruction.BranchInstruction;
import java.lang.classfile.instruction.ConstantInstruction;
import java.lang.classfile.instruction.ExceptionCatch;
import java.lang.classfile.instruction.LabelTarget;
import java.lang.classfile.instruction.LookupSwitchInstruction;
import java.lang.classfile.instruction.OperatorInstruction;
import java.lang.classfile.instruction.SwitchCase;
import java.lang.classfile.instruction.TableSwitchInstruction;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDescs;
import java.lang.constant.MethodTypeDesc;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Adds coverage probes to a class file with the JDK's own class-file API ({@code java.lang.classfile}),
 * which reads every class-file version the running JDK does: a call to {@link Edges#hit} at the
 * start of each method, at each jump target and exception handler, and after each conditional
 * jump (its fall-through). Before an {@code if_icmp} it reports the two operands to
 * {@link Edges#compare}, and it replaces {@code lcmp} with {@link Edges#compareLongs}. The
 * constants the code compares with (numbers, switch cases, short strings) go to a dictionary the
 * mutator draws from.
 */
final class EdgeInstrumenter {

    private static final ClassDesc EDGES = ClassDesc.of(Edges.class.getName());
    private static final MethodTypeDesc HIT = MethodTypeDesc.of(ConstantDescs.CD_void, ConstantDescs.CD_int);
    private static final MethodTypeDesc COMPARE = MethodTypeDesc.of(ConstantDescs.CD_void, ConstantDescs.CD_int, ConstantDescs.CD_int,
            ConstantDescs.CD_int);
    private static final MethodTypeDesc COMPARE_LONGS = MethodTypeDesc.of(ConstantDescs.CD_int, ConstantDescs.CD_long,
            ConstantDescs.CD_long, ConstantDescs.CD_int);
    private static final int LONGEST_STRING = 32;

    private final ClassFile classFile;
    private final Dictionary dictionary;

    EdgeInstrumenter(ClassLoader classes, Dictionary dictionary) {
        // Stack maps are recomputed; types they merge are looked up in the JDK, then on the class path.
        this.classFile = ClassFile.of(ClassFile.ClassHierarchyResolverOption.of(
                ClassHierarchyResolver.defaultResolver().orElse(ClassHierarchyResolver.ofResourceParsing(classes))));
        this.dictionary = dictionary;
    }

    byte[] instrument(byte[] classBytes) {
        ClassModel model = classFile.parse(classBytes);
        String owner = model.thisClass().asInternalName();
        return classFile.transformClass(model, (builder, element) -> {
            if (element instanceof MethodModel method && method.code().isPresent()) {
                String site = owner + "." + method.methodName().stringValue() + method.methodType().stringValue();
                builder.transformMethod(method, MethodTransform.transformingCode(new Probes(site, jumpTargets(method.code().get()))));
            } else {
                builder.with(element);
            }
        });
    }

    /** The labels control can reach other than by falling through, and the constants compared with. */
    private Set<Label> jumpTargets(CodeModel code) {
        Set<Label> targets = new HashSet<>();
        for (CodeElement e : code) {
            switch (e) {
                case BranchInstruction b -> targets.add(b.target());
                case TableSwitchInstruction s -> {
                    targets.add(s.defaultTarget());
                    for (SwitchCase c : s.cases()) {
                        targets.add(c.target());
                        dictionary.addNumber(c.caseValue());
                    }
                }
                case LookupSwitchInstruction s -> {
                    targets.add(s.defaultTarget());
                    for (SwitchCase c : s.cases()) {
                        targets.add(c.target());
                        dictionary.addNumber(c.caseValue());
                    }
                }
                case ExceptionCatch c -> targets.add(c.handler());
                case ConstantInstruction c -> {
                    switch (c.constantValue()) {
                        case Integer i -> dictionary.addNumber(i);
                        case Long l -> dictionary.addNumber(l);
                        case String s when !s.isEmpty() && s.length() <= LONGEST_STRING ->
                                dictionary.addBytes(s.getBytes(StandardCharsets.UTF_8));
                        default -> { }
                    }
                }
                default -> { }
            }
        }
        return targets;
    }

    /** The probes of one method; ids are derived from the method and the probe's position, the same in every run. */
    private static final class Probes implements CodeTransform {
        private final String site;
        private final Set<Label> jumpTargets;
        private int probes;

        Probes(String site, Set<Label> jumpTargets) {
            this.site = site;
            this.jumpTargets = jumpTargets;
        }

        private int nextId() {
            int h = site.hashCode() * 0x9E37_79B1 + probes++ * 0x85EB_CA6B;
            return h ^ h >>> 15;
        }

        private void probe(CodeBuilder b) {
            b.loadConstant(nextId());
            b.invokestatic(EDGES, "hit", HIT);
        }

        @Override
        public void atStart(CodeBuilder b) {
            probe(b);
        }

        @Override
        public void accept(CodeBuilder b, CodeElement e) {
            switch (e) {
                case LabelTarget t when jumpTargets.contains(t.label()) -> {
                    b.with(t);
                    probe(b);
                }
                case BranchInstruction branch when branch.opcode() != Opcode.GOTO && branch.opcode() != Opcode.GOTO_W -> {
                    if (comparesTwoInts(branch.opcode())) {
                        b.dup2();
                        b.loadConstant(nextId());
                        b.invokestatic(EDGES, "compare", COMPARE);
                    }
                    b.with(branch);
                    probe(b);
                }
                case OperatorInstruction op when op.opcode() == Opcode.LCMP -> {
                    b.loadConstant(nextId());
                    b.invokestatic(EDGES, "compareLongs", COMPARE_LONGS);
                }
                default -> b.with(e);
            }
        }

        private static boolean comparesTwoInts(Opcode op) {
            return switch (op) {
                case IF_ICMPEQ, IF_ICMPNE, IF_ICMPLT, IF_ICMPGE, IF_ICMPGT, IF_ICMPLE -> true;
                default -> false;
            };
        }
    }
}

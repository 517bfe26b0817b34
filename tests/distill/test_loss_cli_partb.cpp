// `retort loss` end to end for the part-B vectors (DKD, DTKD, DIST, CMKD, STKD,
// backward-pass KD, CTKD): every total, term and student-logit gradient the
// vectors give that the loss command can see, to the in-process tolerance
// (relative 1e-5), and the one-line errors of the part-B inputs (mixup labels,
// auxiliary logits, epochs). Not visible through the command, so left to the
// in-process tests: DTKD's per-row temperatures, CMKD's hard ranks, CTKD's T,
// dT/dθ and ∂L/∂T, and backward-pass KD's sample generator (x', ∇_x D).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor/json.h"
#include "tensor/safetensors.h"
#include "tests/distill/partb_vectors.h"
#include "tests/testing.h"

namespace retort {
namespace {

namespace kdv = testing::kdv;

class LossCliPartB : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "retort_loss_cli_partb_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    ASSERT_EQ(std::system(("mkdir -p '" + dir_ + "'").c_str()), 0);
  }
  std::string path(const std::string& name) const { return dir_ + name; }
  void save(const std::string& name, const std::vector<safetensors::NamedTensor>& tensors) const {
    safetensors::save(path(name), tensors);
  }
  // Student, teacher and labels files of a shared input ("A", "B").
  void save_input(const std::string& input) const {
    save("s.safetensors", {{"logits", kdv::logits(input, "Zs")}});
    save("t.safetensors", {{"logits", kdv::logits(input, "Zt")}});
    save("y.safetensors", {{"labels", kdv::labels(input)}});
  }
  std::string files() const {
    return "--student '" + path("s.safetensors") + "' --teacher '" + path("t.safetensors") + "' --labels '" +
           path("y.safetensors") + "'";
  }
  testing::CliRun run(const std::string& args) const { return testing::run_retort("loss " + args); }
  // `retort loss --method M FILES ARGS --json --grad-out g.safetensors`; a failing run throws (the test fails).
  json::Value eval(const std::string& method, const std::string& args) const {
    const testing::CliRun r =
        run("--method " + method + " " + files() + " " + args + " --json --grad-out '" + path("g.safetensors") + "'");
    if (r.status != 0) throw std::runtime_error("retort loss --method " + method + " " + args + ": " + r.err);
    return json::parse(r.out);
  }
  Tensor grad(const std::string& name = "grad") const {
    const safetensors::Contents c = safetensors::load(path("g.safetensors"));
    const Tensor* t = c.find(name);
    return t ? *t : Tensor();
  }
  double grad_scalar(const std::string& name) const { return testing::to_doubles(grad(name)).at(0); }
  void expect_error(const std::string& args, const std::string& what) const {
    EXPECT_TRUE(testing::failed_with(run(args), {what})) << args;
  }

  std::string dir_;
};

double term(const json::Value& out, const std::string& name) { return out.at("terms").at(name).as_double(); }
double loss(const json::Value& out) { return out.at("loss").as_double(); }
double terms_sum(const json::Value& out) {
  double s = 0;
  for (const auto& t : out.at("terms").members()) s += t.second.as_double();
  return s;
}

// " --set key=value" for each option, exactly as the double is written.
std::string sets(const std::vector<std::pair<std::string, double>>& values) {
  std::string s;
  char buf[64];
  for (const auto& [k, v] : values) {
    std::snprintf(buf, sizeof buf, "%.17g", v);
    s += " --set " + k + "=" + buf;
  }
  return s;
}
// The vector's params under the same option names.
std::string sets_from(const std::string& id, const std::vector<std::string>& keys) {
  std::vector<std::pair<std::string, double>> v;
  for (const std::string& k : keys) v.push_back({k, kdv::param(id, k)});
  return sets(v);
}

TEST_F(LossCliPartB, DkdVectors) {
  for (const std::string input : {"A", "B"}) {
    SCOPED_TRACE(input);
    const std::string id = "dkd." + input;
    save_input(input);
    const std::string opts = sets_from(id, {"T", "alpha", "beta", "warmup"});
    // Past the warm-up, without the cross-entropy: α·TCKD + β·NCKD and its gradient.
    const json::Value out = eval("dkd", opts + " --set ce_weight=0 --epoch 20");
    EXPECT_REL(loss(out), kdv::expected(id, "DKD"));
    EXPECT_REL(term(out, "tckd"), kdv::param(id, "alpha") * kdv::expected(id, "TCKD"));
    EXPECT_REL(term(out, "nckd"), kdv::param(id, "beta") * kdv::expected(id, "NCKD"));
    EXPECT_EQ(term(out, "ce"), 0.0);
    EXPECT_CLOSE(grad(), kdv::expected_flat(id, "dDKD_dZs"), kdv::kAtol, kdv::kRtol);
  }
  // Vector A at epoch 5 with the cross-entropy (warm-up factor 1/4 on the KD terms).
  save_input("A");
  const json::Value e5 = eval("dkd", sets_from("dkd.A", {"T", "alpha", "beta", "warmup", "ce_weight"}) + " --epoch 5");
  EXPECT_REL(loss(e5), kdv::expected("dkd.A", "L_epoch_5"));
  EXPECT_REL(terms_sum(e5), kdv::expected("dkd.A", "L_epoch_5"));
  EXPECT_REL(term(e5, "ce"), kdv::expected("common.A", "CE"));

  // The decomposition identity on sample 0: KL(p̂‖p) from kd (T²·KL / T²), and
  // TCKD + (1 − p̂_y)·NCKD from dkd with α = β = 1.
  const Tensor zs0 = kdv::logits("A", "Zs").narrow(0, 0, 1).contiguous();
  const Tensor zt0 = kdv::logits("A", "Zt").narrow(0, 0, 1).contiguous();
  save("s.safetensors", {{"logits", zs0}});
  save("t.safetensors", {{"logits", zt0}});
  save("y.safetensors", {{"labels", kdv::labels("A").narrow(0, 0, 1).contiguous()}});
  const double T = kdv::param("dkd.A", "T"), T2 = T * T;
  const json::Value kl = eval("kd", sets({{"T", T}, {"w_ce", 0}, {"w_kd", 1}}));
  EXPECT_REL(term(kl, "kd") / T2, kdv::expected("dkd.A", "identity_sample0_KL"));
  const json::Value parts = eval("dkd", sets({{"T", T}, {"alpha", 1}, {"beta", 1}, {"ce_weight", 0}}) + " --epoch 20");
  const std::vector<double> u = testing::to_doubles(zt0);
  const int64_t y0 = kdv::labels("A").to_vector<int64_t>()[0];
  double Z = 0;
  for (double x : u) Z += std::exp(x / T);
  const double pt_y = std::exp(u[y0] / T) / Z;
  const double rhs = term(parts, "tckd") / T2 + (1 - pt_y) * term(parts, "nckd") / T2;
  EXPECT_REL(rhs, kdv::expected("dkd.A", "identity_sample0_rhs"));
  EXPECT_REL(rhs, term(kl, "kd") / T2);
}

TEST_F(LossCliPartB, DtkdVectors) {
  for (const std::string input : {"A", "B"}) {
    SCOPED_TRACE(input);
    const std::string id = "dtkd." + input;
    save_input(input);
    const std::string opts = sets_from(id, {"tau", "alpha", "beta", "gamma", "warmup"});
    const std::string only = sets_from(id, {"tau", "warmup"}) + sets({{"alpha", 1}, {"beta", 0}, {"gamma", 0}});
    // L_DTKD alone: the code-exact gradient (through the temperatures) and the detached one.
    json::Value out = eval("dtkd", only + " --epoch 20");
    EXPECT_REL(loss(out), kdv::expected(id, "L_DTKD"));
    EXPECT_REL(term(out, "dtkd"), kdv::expected(id, "L_DTKD"));
    EXPECT_CLOSE(grad(), kdv::expected_flat(id, "dLDTKD_dZs_code"), kdv::kAtol, kdv::kRtol);
    out = eval("dtkd", only + " --set detach_temperature=1 --epoch 20");
    EXPECT_REL(loss(out), kdv::expected(id, "L_DTKD"));
    EXPECT_CLOSE(grad(), kdv::expected_flat(id, "dLDTKD_dZs_detached"), kdv::kAtol, kdv::kRtol);
    // The full loss past the warm-up, term by term.
    out = eval("dtkd", opts + " --epoch 20");
    EXPECT_REL(loss(out), kdv::expected(id, "L_epoch_ge_20"));
    EXPECT_REL(term(out, "dtkd"), kdv::param(id, "alpha") * kdv::expected(id, "L_DTKD"));
    EXPECT_REL(term(out, "kd"), kdv::param(id, "beta") * kdv::expected(id, "L_KD"));
    EXPECT_REL(term(out, "ce"), kdv::param(id, "gamma") * kdv::expected(id, "CE"));
    EXPECT_CLOSE(grad(), kdv::expected_flat(id, "dL_dZs_epoch_ge_20"), kdv::kAtol, kdv::kRtol);
    // Epoch 1 of the warm-up (the default --epoch).
    out = eval("dtkd", opts);
    EXPECT_REL(loss(out), kdv::expected(id, "L_epoch_1"));
    EXPECT_REL(terms_sum(out), kdv::expected(id, "L_epoch_1"));
    EXPECT_REL(loss(eval("dtkd", opts + " --epoch 1")), kdv::expected(id, "L_epoch_1"));
  }
}

TEST_F(LossCliPartB, DistVectors) {
  for (const std::string input : {"A", "B"}) {
    SCOPED_TRACE(input);
    const std::string id = "dist." + input;
    save_input(input);
    for (const double tau : {1.0, 4.0}) {
      const std::string key = tau == 1.0 ? "tau1_" : "tau4_";
      const json::Value out = eval("dist", sets_from(id, {"beta", "gamma", "eps"}) +
                                               sets({{"tau", tau}, {"ce_weight", 0}, {"kd_weight", 1}}));
      EXPECT_REL(term(out, "inter"), kdv::expected(id, key + "inter")) << "tau " << tau;
      EXPECT_REL(term(out, "intra"), kdv::expected(id, key + "intra")) << "tau " << tau;
      if (input == "B" && tau == 4.0) {
        EXPECT_REL(loss(out), kdv::expected(id, "L_DIST_tau4"));
        EXPECT_CLOSE(grad(), kdv::expected_flat(id, "dLDIST_dZs_tau4"), kdv::kAtol, kdv::kRtol);
      }
    }
  }
  // The full training loss of vector B (w_ce = 1, w_kd = 2, τ = 4).
  const json::Value full = eval("dist", sets_from("dist.B", {"beta", "gamma", "eps", "kd_weight", "ce_weight"}) +
                                            sets({{"tau", 4}}));
  EXPECT_REL(loss(full), kdv::expected("dist.B", "L_tau4"));
  EXPECT_REL(terms_sum(full), kdv::expected("dist.B", "L_tau4"));
  EXPECT_REL(term(full, "ce"), kdv::expected("common.B", "CE"));
  // Per-row Pearson of vector A at τ = 1, one row per run.
  const std::vector<double> rho = kdv::expected_flat("dist.A", "rho_rows_tau1");
  for (int64_t i = 0; i < 2; ++i) {
    save("s.safetensors", {{"logits", kdv::logits("A", "Zs").narrow(0, i, 1).contiguous()}});
    save("t.safetensors", {{"logits", kdv::logits("A", "Zt").narrow(0, i, 1).contiguous()}});
    save("y.safetensors", {{"labels", kdv::labels("A").narrow(0, i, 1).contiguous()}});
    const json::Value out = eval("dist", sets({{"tau", 1}, {"ce_weight", 0}, {"kd_weight", 1}}));
    EXPECT_REL(1.0 - term(out, "inter"), rho[i]) << "row " << i;
    EXPECT_EQ(term(out, "intra"), 1.0) << "row " << i;  // one sample: ρ = 0
  }
}

TEST_F(LossCliPartB, CmkdVectors) {
  for (const std::string input : {"A", "B"}) {
    SCOPED_TRACE(input);
    const std::string id = "cmkd." + input;
    save_input(input);
    const double w = kdv::param(id, "w_i");
    const std::string opts =
        sets({{"tau", kdv::param(id, "tau")}, {"w", w}, {"lambda", 1}, {"ce_weight", 0}, {"gamma", 0}});
    for (const double eps_r : {0.1, 0.01}) {
      const json::Value out = eval("cmkd", opts + sets({{"eps_r", eps_r}}));
      EXPECT_REL(term(out, "pearson") / (1 - w), kdv::expected(id, "L_P")) << "eps_r " << eps_r;
      EXPECT_REL(term(out, "spearman") / w, kdv::expected(id, eps_r == 0.1 ? "L_S_soft_01" : "L_S_soft_001"))
          << "eps_r " << eps_r;
      EXPECT_EQ(term(out, "intra"), 0.0);
      EXPECT_EQ(term(out, "ce"), 0.0);
      if (eps_r == 0.1) {
        EXPECT_REL(loss(out), kdv::expected(id, "mix_05_05"));
      }
    }
  }
}

TEST_F(LossCliPartB, StkdVectorsWithMixupLabels) {
  for (const std::string input : {"A", "B"}) {
    SCOPED_TRACE(input);
    const std::string id = "stkd." + input;
    const json::Value& p = kdv::vec(id).at("params");
    save_input(input);
    save("y.safetensors", {{"labels", kdv::label_tensor(p.at("y_a"))},
                           {"labels_b", kdv::label_tensor(p.at("y_b"))},
                           {"mix_lambda", from_vector<float>({static_cast<float>(p.at("lam").as_double())}, Shape{1})}});
    const json::Value out = eval("stkd", sets_from(id, {"T", "beta"}));
    EXPECT_REL(term(out, "mix_ce"), kdv::expected(id, "L_mixCE"));
    EXPECT_REL(term(out, "st"), kdv::param(id, "beta") * kdv::expected(id, "L_ST"));
    EXPECT_REL(loss(out), kdv::expected(id, "L_total"));
    EXPECT_REL(terms_sum(out), kdv::expected(id, "L_total"));
    EXPECT_EQ(out.at("terms").size(), 2u);
  }
}

// z = W x for the linear networks of the backward-pass KD vector, as a [1, 3] f32 row.
Tensor linear_logits(const char* weights, const std::vector<double>& x) {
  const std::vector<double> W = kdv::flat(kdv::vec("bpkd.linear").at("params").at(weights));
  std::vector<float> z(3);
  for (int k = 0; k < 3; ++k) z[k] = static_cast<float>(W[2 * k] * x[0] + W[2 * k + 1] * x[1]);
  return from_vector<float>(z, Shape{1, 3});
}

TEST_F(LossCliPartB, BpkdVectorThroughAuxiliaryLogits) {
  // The divergence D = KL(softmax_T(z_t) ‖ softmax_T(z_s)) at x (the batch: kd = a·T²·D)
  // and at the vector's ascended samples x' (logits_aux: aux_kd = a_aux·T²·D(x')).
  const char* const id = "bpkd.linear";
  const std::vector<double> x = kdv::flat(kdv::vec(id).at("params").at("x"));
  EXPECT_CLOSE(linear_logits("W_t", x), kdv::expected_flat(id, "z_t"), kdv::kAtol, kdv::kRtol);
  EXPECT_CLOSE(linear_logits("W_s", x), kdv::expected_flat(id, "z_s"), kdv::kAtol, kdv::kRtol);
  struct Case {
    double T;
    const char* x_aux;  // expected key of x'
    const char* D;      // expected D(x')
  };
  for (const Case c : {Case{1, "x_norm_step", "D_norm_step"}, Case{1, "x_sign_step", "D_sign_step"},
                       Case{2, "x_step1_T2", "D_step1_T2"}, Case{2, "x_step2_T2", "D_step2_T2"}}) {
    SCOPED_TRACE(c.x_aux);
    const std::vector<double> xa = kdv::expected_flat(id, c.x_aux);
    save("s.safetensors", {{"logits", linear_logits("W_s", x)}, {"logits_aux", linear_logits("W_s", xa)}});
    save("t.safetensors", {{"logits", linear_logits("W_t", x)}, {"logits_aux", linear_logits("W_t", xa)}});
    save("y.safetensors", {{"labels", from_vector<int64_t>({0}, Shape{1})}});
    const json::Value out = eval("bpkd", sets({{"T", c.T}, {"a", 1}, {"a_aux", 1}}));
    const double T2 = c.T * c.T;
    EXPECT_REL(term(out, "kd") / T2, kdv::expected(id, c.T == 1 ? "D_T1" : "D_T2"));
    EXPECT_REL(term(out, "aux_kd") / T2, kdv::expected(id, c.D));
    if (std::string(c.D) == "D_step2_T2") {
      EXPECT_REL(term(out, "aux_kd"), kdv::expected(id, "T2D_step2_T2"));
    }
    EXPECT_EQ(term(out, "ce"), 0.0);
    EXPECT_EQ(term(out, "aux_ce"), 0.0);
    EXPECT_REL(loss(out), term(out, "kd") + term(out, "aux_kd"));
    EXPECT_EQ(grad("grad_aux").shape(), (Shape{1, 3}));
  }
  EXPECT_NE(run("--help").out.find("`grad_aux`"), std::string::npos);
}

TEST_F(LossCliPartB, CtkdVectorWithThetaGradients) {
  const char* const id = "ctkd.A";
  save_input("A");
  const std::string opts = sets_from(id, {"theta", "t_start", "t_end", "ce_weight", "kd_weight", "cosine_epochs"});
  const std::string kd_only = sets_from(id, {"theta", "t_start", "t_end", "cosine_epochs"}) +
                              sets({{"ce_weight", 0}, {"kd_weight", 1}});
  const double w_ce = kdv::param(id, "ce_weight"), w_kd = kdv::param(id, "kd_weight");
  // ∂L_KD/∂θ itself: the reversal factor held at λ = 1.
  EXPECT_REL(loss(eval("ctkd", kd_only + " --set lambda_min=1 --set lambda_max=1")), kdv::expected(id, "KD"));
  const double dkd_dtheta = grad_scalar("grad_param0");
  EXPECT_REL(dkd_dtheta, kdv::expected(id, "dKD_dtheta"));
  // The student gradient of w_ce·CE + w_kd·L_KD.
  const std::vector<double> ce = kdv::expected_flat("common.A", "dCE_dZs"), dkd = kdv::expected_flat(id, "dKD_dZs");
  std::vector<double> want(ce.size());
  for (size_t i = 0; i < ce.size(); ++i) want[i] = w_ce * ce[i] + w_kd * dkd[i];
  for (const int e : {1, 5, 10, 20}) {
    SCOPED_TRACE("epoch " + std::to_string(e));
    const std::string sfx = "_e" + std::to_string(e), epoch = " --epoch " + std::to_string(e);
    json::Value out = eval("ctkd", opts + epoch);
    EXPECT_REL(loss(out), kdv::expected(id, "L"));
    EXPECT_REL(terms_sum(out), kdv::expected(id, "L"));
    EXPECT_REL(term(out, "ce"), w_ce * kdv::expected("common.A", "CE"));
    EXPECT_REL(term(out, "kd"), w_kd * kdv::expected(id, "KD"));
    EXPECT_REL(grad_scalar("grad_param0"), kdv::expected(id, "theta_grad" + sfx));
    EXPECT_CLOSE(grad(), want, kdv::kAtol, kdv::kRtol);
    out = eval("ctkd", kd_only + epoch);
    EXPECT_REL(loss(out), kdv::expected(id, "KD"));
    EXPECT_CLOSE(grad(), kdv::expected_flat(id, "dKD_dZs"), kdv::kAtol, kdv::kRtol);
    const double unscaled = grad_scalar("grad_param0");
    EXPECT_REL(unscaled, kdv::expected(id, "theta_grad_unscaled" + sfx));
    EXPECT_REL(unscaled / dkd_dtheta, kdv::expected(id, "lambda" + sfx));
  }
  // L_KD on input B at the same T.
  save_input("B");
  EXPECT_REL(loss(eval("ctkd", kd_only)), kdv::expected(id, "KD_B"));
}

TEST_F(LossCliPartB, PartBInputErrorsExitTwoWithOneLine) {
  // Mixup inputs of stkd.
  save_input("B");
  const Tensor lam = from_vector<float>({0.6f}, Shape{1});
  const Tensor yb = from_vector<int64_t>({1, 0, 3}, Shape{3});
  const std::string no_labels = "--student '" + path("s.safetensors") + "' --teacher '" + path("t.safetensors") + "'";
  expect_error("--method stkd " + no_labels, "stkd needs --labels with labels, labels_b and mix_lambda");
  expect_error("--method stkd " + files(), "no tensor 'labels_b' (found: labels)");
  save("y.safetensors", {{"labels", kdv::labels("B")}, {"labels_b", yb}});
  expect_error("--method stkd " + files(), "no tensor 'mix_lambda'");
  save("y.safetensors", {{"labels", kdv::labels("B")}, {"labels_b", yb},
                         {"mix_lambda", from_vector<float>({0.6f, 0.4f}, Shape{2})}});
  expect_error("--method stkd " + files(), "tensor 'mix_lambda' must hold one value");
  save("y.safetensors", {{"labels", kdv::labels("B")}, {"labels_b", yb},
                         {"mix_lambda", from_vector<float>({1.5f}, Shape{1})}});
  expect_error("--method stkd " + files(), "expected a mixing coefficient in [0, 1], found 1.5");
  save("y.safetensors", {{"labels", kdv::labels("B")}, {"labels_b", from_vector<float>({1, 0, 3}, Shape{3})},
                         {"mix_lambda", lam}});
  expect_error("--method stkd " + files(), "tensor 'labels_b' must be i64, found f32");
  save("y.safetensors", {{"labels", kdv::labels("B")}, {"labels_b", from_vector<int64_t>({1, 4, 3}, Shape{3})},
                         {"mix_lambda", lam}});
  expect_error("--method stkd " + files(), "label 4 at position 1 is outside [0, 4)");
  save("y.safetensors", {{"labels", kdv::labels("B")}, {"labels_b", from_vector<int64_t>({1, 0}, Shape{2})},
                         {"mix_lambda", lam}});
  expect_error("--method stkd " + files(), "expected labels [3]");

  // Auxiliary logits of bpkd.
  save_input("B");
  expect_error("--method bpkd " + files(), "no tensor 'logits_aux' (found: logits)");
  save("s.safetensors", {{"logits", kdv::logits("B", "Zs")}, {"logits_aux", kdv::logits("B2", "Zs")}});
  expect_error("--method bpkd " + files(), "no tensor 'logits_aux'");  // the teacher's file lacks it
  save("t.safetensors", {{"logits", kdv::logits("B", "Zt")}, {"logits_aux", kdv::logits("A", "Zt")}});
  expect_error("--method bpkd " + files(), "do not match student logits");
  save("s.safetensors", {{"logits", kdv::logits("A", "Zs")}, {"logits_aux", kdv::logits("B", "Zs")}});
  save("t.safetensors", {{"logits", kdv::logits("A", "Zt")}, {"logits_aux", kdv::logits("B", "Zt")}});
  save("y.safetensors", {{"labels", kdv::labels("A")}});
  expect_error("--method bpkd " + files(), "expected auxiliary logits [n <= 2, 3]");
  expect_error("--method bpkd " + files() + " --set steps=1.5", "option steps expects an integer");

  // Epochs and options of the stateful and warm-up methods.
  save_input("A");
  expect_error("--method ctkd " + files() + " --epoch 0", "--epoch counts from 1, found 0");
  expect_error("--method dkd " + files() + " --epoch -3", "--epoch counts from 1, found -3");
  expect_error("--method dtkd " + files() + " --epoch five", "option --epoch expects an integer, found 'five'");
  expect_error("--method ctkd " + files() + " --set cosine_epochs=0", "expected cosine_epochs > 0");
  expect_error("--method ctkd " + files() + " --set thetaa=1", "did you mean 'theta'?");
  // DTKD's temperature guard: x + y <= 0 in a row.
  save("s.safetensors", {{"logits", from_vector<float>({1, 2, 0.5f, -2, -3, -4}, Shape{2, 3})}});
  save("t.safetensors", {{"logits", from_vector<float>({2, 1, 0, 1, -0.5f, 0}, Shape{2, 3})}});
  save("y.safetensors", {{"labels", from_vector<int64_t>({0, 2}, Shape{2})}});
  expect_error("--method dtkd " + files(), "their sum must be > 0");
  EXPECT_EQ(run("--method dtkd " + files() + " --set fallback_to_tau=1").status, 0);
}

}  // namespace
}  // namespace retort

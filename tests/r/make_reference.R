# Reference values for mmrwe.stats, computed by R's survival package (Therneau).
#
# Run from the repository root:   Rscript tests/r/make_reference.R
# Writes tests/r/data/*.csv (the input data sets), tests/r/expected/*.csv (the expected values),
# tests/r/raw_output.txt (the printed R objects) and tests/r/sessionInfo.txt.
# An output directory can be given as the first argument (used by the opt-in test that reruns R).
#
# Data: lung, veteran, ovarian, colon ship with survival; the small hand-made sets below
# exercise delayed entry, ties, case weights (fractional and zero) and flat curves at 0.5.

suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "tests/r"
dir.create(file.path(out, "data"), showWarnings = FALSE, recursive = TRUE)
dir.create(file.path(out, "expected"), showWarnings = FALSE, recursive = TRUE)
raw <- file(file.path(out, "raw_output.txt"), open = "wt")
say <- function(title, x) {
  writeLines(c("", paste("#####", title)), raw)
  writeLines(capture.output(print(x)), raw)
}
wcsv <- function(df, name) {
  write.csv(df, file.path(out, name), row.names = FALSE, na = "")
}
num <- function(x) ifelse(is.finite(x), x, NA)

# ---------------------------------------------------------------- data sets
lung2 <- data.frame(time = lung$time, event = as.integer(lung$status == 2),
                    sex = lung$sex, age = lung$age, ph_ecog = lung$ph.ecog)
i <- seq_len(nrow(lung2))
lung2$w_frac <- c(0.5, 1, 1.5, 2.25)[(i %% 4) + 1]          # fractional weights
lung2$w_int <- c(1, 2, 3)[(i %% 3) + 1]                      # integer weights
lung2$entry <- floor(lung2$time * ((i %% 5) / 10))            # delayed entry, entry < time
vet <- data.frame(time = veteran$time, event = veteran$status, trt = veteran$trt,
                  karno = veteran$karno, celltype = as.character(veteran$celltype))
ova <- data.frame(time = ovarian$futime, event = ovarian$fustat, rx = ovarian$rx,
                  age = ovarian$age)
col2 <- subset(colon, etype == 2)
col2 <- data.frame(time = col2$time, event = col2$status, rx = as.character(col2$rx))
# events and censorings tied at the same times, two groups
ties <- data.frame(
  time  = c(1, 1, 1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 6, 7, 8, 8, 9, 10, 10, 12),
  event = c(1, 0, 1, 1, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0),
  group = c("a", "b", "b", "a", "b", "a", "a", "b", "b", "a", "b", "a", "a", "b", "b", "a",
            "b", "a", "b", "a"),
  x     = c(0.2, 1.1, -0.4, 0.8, 0.3, -1.2, 0.5, 0.9, -0.1, 1.4, -0.7, 0.6, 0.0, 1.8,
            -0.9, 0.4, 1.2, -0.3, 0.7, 0.1))
# delayed entry (left truncation), unsorted
entry <- data.frame(entry = c(0, 2, 0, 1, 3, 0, 5, 4, 0, 2, 6, 1),
                    time  = c(3, 5, 4, 6, 8, 9, 10, 7, 12, 2.5, 11, 9),
                    event = c(1, 1, 0, 1, 0, 1, 1, 1, 0, 1, 1, 0),
                    group = c(1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2))
# case weights with zeros (zero-weight rows carry no information)
zw <- data.frame(time  = c(2, 3, 3, 5, 6, 7, 9, 11, 12, 15),
                 event = c(1, 1, 0, 1, 0, 1, 1, 0, 1, 0),
                 w     = c(1, 0, 2, 0.5, 0, 1.5, 1, 2, 0, 1))
# survival exactly 0.5 on a flat stretch: median by the midpoint rule
flat <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8), event = c(1, 0, 1, 1, 0, 0, 1, 0))
flat_end <- data.frame(time = c(1, 2, 3, 4), event = c(1, 1, 0, 0))
for (nm in c("lung2", "vet", "ova", "col2", "ties", "entry", "zw", "flat", "flat_end")) {
  wcsv(get(nm), file.path("data", paste0(nm, ".csv")))
}

# ---------------------------------------------------------------- Kaplan-Meier
# name, data, entry column, weight column, group column, times for summary(times=), rmean tau
specs <- list(
  list("lung", "lung2", NA, NA, NA, c(0, 30, 90, 183.5, 365, 500, 730, 1000, 1022, 1100), c(365, 730, 1022)),
  list("lung_sex", "lung2", NA, NA, "sex", c(0, 90, 365, 730, 900, 1100), c(365, 730)),
  list("lung_wfrac", "lung2", NA, "w_frac", NA, c(90, 365, 730, 1100), c(365, 730)),
  list("lung_wint", "lung2", NA, "w_int", "sex", c(90, 365, 730, 1100), c(365)),
  list("lung_entry", "lung2", "entry", NA, "sex", c(1, 90, 365, 730), c(365)),
  list("lung_entry_wfrac", "lung2", "entry", "w_frac", "sex", c(1, 90, 365, 730), c(365)),
  list("vet_trt", "vet", NA, NA, "trt", c(30, 100, 365, 1000), c(100, 365)),
  list("vet_cell", "vet", NA, NA, "celltype", c(30, 100, 365), c(100)),
  list("ova_rx", "ova", NA, NA, "rx", c(100, 365, 730, 1300), c(365, 730)),
  list("colon_rx", "col2", NA, NA, "rx", c(365, 1826, 3000, 4000), c(1826)),
  list("ties", "ties", NA, NA, NA, c(1, 2, 2.5, 8, 12, 13), c(5, 12)),
  list("ties_group", "ties", NA, NA, "group", c(1, 3, 8, 12), c(8)),
  list("entry", "entry", NA, NA, NA, c(2, 3, 5, 8), c(6)),
  list("entry_delayed", "entry", "entry", NA, NA, c(2.5, 3, 5, 8, 11, 12, 15), c(6, 12)),
  list("entry_delayed_group", "entry", "entry", NA, "group", c(3, 7, 10), c(9)),
  list("zero_weights", "zw", NA, "w", NA, c(2, 3, 7, 12, 20), c(10)),
  list("flat", "flat", NA, NA, NA, c(3, 8), c(8)),
  list("flat_end", "flat_end", NA, NA, NA, c(2, 4), c(4))
)
confs <- list(c("log", 0.95), c("log-log", 0.95), c("plain", 0.95), c("log", 0.90),
              c("log-log", 0.80), c("plain", 0.99))
curve_rows <- list(); at_rows <- list(); q_rows <- list(); rm_rows <- list(); fu_rows <- list()
for (s in specs) {
  name <- s[[1]]; d <- get(s[[2]]); ecol <- s[[3]]; wcol <- s[[4]]; gcol <- s[[5]]
  y <- if (is.na(ecol)) Surv(d$time, d$event) else Surv(d[[ecol]], d$time, d$event)
  g <- if (is.na(gcol)) rep("", nrow(d)) else as.character(d[[gcol]])
  w <- if (is.na(wcol)) rep(1, nrow(d)) else d[[wcol]]
  for (cf in confs) {
    ct <- cf[1]; cl <- as.numeric(cf[2])
    fit <- if (is.na(gcol)) survfit(y ~ 1, weights = w, conf.type = ct, conf.int = cl)
           else survfit(y ~ g, weights = w, conf.type = ct, conf.int = cl)
    say(paste("survfit", name, ct, cl), fit)
    sm <- summary(fit, censored = TRUE)
    grp <- if (is.null(sm$strata)) rep("", length(sm$time)) else sub("^g=", "", as.character(sm$strata))
    if (cl == 0.95) curve_rows[[length(curve_rows) + 1]] <- data.frame(  # whole curves: 95% only
      analysis = name, conf_type = ct, conf_level = cl, group = grp, time = sm$time,
      n_risk = sm$n.risk, n_event = sm$n.event, n_censor = sm$n.censor, surv = sm$surv,
      std_err = num(sm$std.err), lower = num(sm$lower), upper = num(sm$upper))
    st <- summary(fit, times = s[[6]], extend = TRUE)
    say(paste("summary(times=, extend=TRUE)", name, ct, cl), st)
    grp <- if (is.null(st$strata)) rep("", length(st$time)) else sub("^g=", "", as.character(st$strata))
    # R's n.risk is that of the next exit time >= t; with delayed entry the number at risk
    # at t itself, #{entry < t <= T}, can be smaller (entries in [t, next exit)): count it too.
    ent <- if (is.na(ecol)) rep(-Inf, nrow(d)) else d[[ecol]]
    n_def <- mapply(function(gg, tt) sum(w[g == gg & ent < tt & d$time >= tt]), grp, st$time)
    at_rows[[length(at_rows) + 1]] <- data.frame(
      analysis = name, conf_type = ct, conf_level = cl, group = grp, time = st$time,
      surv = st$surv, std_err = num(st$std.err), lower = num(st$lower), upper = num(st$upper),
      n_risk = st$n.risk, n_risk_at_t = unname(n_def))
    q <- quantile(fit, probs = c(0.1, 0.25, 0.5, 0.75, 0.9))
    say(paste("quantile", name, ct, cl), q)
    qm <- as.matrix(q$quantile); lm <- as.matrix(q$lower); um <- as.matrix(q$upper)
    if (is.na(gcol)) { qm <- t(qm); lm <- t(lm); um <- t(um); rn <- "" }
    else rn <- sub("^g=", "", rownames(qm))
    probs <- c(0.1, 0.25, 0.5, 0.75, 0.9)
    for (k in seq_along(rn)) {
      q_rows[[length(q_rows) + 1]] <- data.frame(
        analysis = name, conf_type = ct, conf_level = cl, group = rn[k], prob = probs,
        estimate = qm[k, ], lower = lm[k, ], upper = um[k, ])
    }
    if (ct == "log" && cl == 0.95) {
      for (tau in s[[7]]) {
        tab <- summary(fit, rmean = tau)$table
        if (is.null(dim(tab))) tab <- t(as.matrix(tab))
        say(paste("print(fit, rmean =", tau, ")", name), tab)
        rn2 <- if (is.na(gcol)) "" else sub("^g=", "", rownames(tab))
        rm_rows[[length(rm_rows) + 1]] <- data.frame(
          analysis = name, group = rn2, tau = tau, rmean = tab[, "rmean"],
          se = tab[, "se(rmean)"])
      }
      # reverse Kaplan-Meier: median follow-up (censoring is the event)
      yr <- if (is.na(ecol)) Surv(d$time, 1 - d$event) else Surv(d[[ecol]], d$time, 1 - d$event)
      fr <- if (is.na(gcol)) survfit(yr ~ 1, weights = w) else survfit(yr ~ g, weights = w)
      qr <- quantile(fr, probs = 0.5)
      say(paste("reverse KM median follow-up", name), qr)
      rn3 <- if (is.na(gcol)) "" else sub("^g=", "", rownames(as.matrix(qr$quantile)))
      fu_rows[[length(fu_rows) + 1]] <- data.frame(
        analysis = name, group = rn3, estimate = as.vector(qr$quantile),
        lower = as.vector(qr$lower), upper = as.vector(qr$upper))
    }
  }
}
wcsv(do.call(rbind, curve_rows), "expected/km_curve.csv")
wcsv(do.call(rbind, at_rows), "expected/km_at_times.csv")
wcsv(do.call(rbind, q_rows), "expected/km_quantiles.csv")
wcsv(do.call(rbind, rm_rows), "expected/km_rmst.csv")
wcsv(do.call(rbind, fu_rows), "expected/km_followup.csv")

# ---------------------------------------------------------------- log-rank (survdiff)
lr <- list(
  list("lung_sex", "lung2", "sex", NA),
  list("lung_sex_strata_ecog", "lung2", "sex", "ph_ecog"),
  list("vet_trt", "vet", "trt", NA),
  list("vet_cell", "vet", "celltype", NA),
  list("vet_trt_strata_cell", "vet", "trt", "celltype"),
  list("ova_rx", "ova", "rx", NA),
  list("colon_rx", "col2", "rx", NA),
  list("ties_group", "ties", "group", NA),
  list("entry_group", "entry", "group", NA)
)
lr_rows <- list(); oe_rows <- list()
for (s in lr) {
  d <- get(s[[2]])
  if (!is.na(s[[4]])) d <- d[!is.na(d[[s[[4]]]]), ]
  g <- as.character(d[[s[[3]]]])
  sd <- if (is.na(s[[4]])) survdiff(Surv(d$time, d$event) ~ g)
        else survdiff(Surv(d$time, d$event) ~ g + strata(d[[s[[4]]]]))
  say(paste("survdiff", s[[1]]), sd)
  df <- sum(diag(sd$var) > 0) - 1
  lr_rows[[length(lr_rows) + 1]] <- data.frame(
    analysis = s[[1]], chisq = sd$chisq, df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE))
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  oe_rows[[length(oe_rows) + 1]] <- data.frame(
    analysis = s[[1]], group = sub("^g=", "", names(sd$n)), n = as.vector(sd$n),
    observed = obs, expected = ex)
}
wcsv(do.call(rbind, lr_rows), "expected/logrank.csv")
wcsv(do.call(rbind, oe_rows), "expected/logrank_groups.csv")

# ---------------------------------------------------------------- Cox proportional hazards
cx <- list(
  list("lung_age_sex", "lung2", "age + sex", NA, NA, FALSE),
  list("vet_trt_karno", "vet", "trt + karno", NA, NA, FALSE),
  list("ova_rx_age", "ova", "rx + age", NA, NA, FALSE),
  list("ties_x", "ties", "x", NA, NA, FALSE),
  list("ties_group_x", "ties", "I(group == 'b') + x", NA, NA, FALSE),
  list("lung_wfrac_robust", "lung2", "age + sex", "w_frac", NA, TRUE),
  list("lung_wint_robust", "lung2", "age + sex", "w_int", NA, TRUE),
  list("lung_robust", "lung2", "age + sex", NA, NA, TRUE),
  list("zw_robust", "zw_pos", "time_x", "w", NA, TRUE),  # coxph refuses w = 0: rows dropped
  list("lung_entry", "lung2", "age + sex", NA, "entry", FALSE),
  list("entry_group", "entry", "group", NA, "entry", FALSE)
)
zw$time_x <- c(0.3, -1, 0.8, 1.5, 0.2, -0.6, 1.1, 0.4, -0.2, 0.9)
wcsv(zw, "data/zw.csv")
zw_pos <- zw[zw$w > 0, ]
cox_rows <- list()
for (s in cx) {
  d <- get(s[[2]])
  for (method in c("efron", "breslow")) {
    lhs <- if (is.na(s[[5]])) "Surv(time, event)" else paste0("Surv(", s[[5]], ", time, event)")
    f <- as.formula(paste(lhs, "~", s[[3]]))
    fit <- if (is.na(s[[4]])) coxph(f, data = d, ties = method, robust = s[[6]])
           else coxph(f, data = d, ties = method, weights = d[[s[[4]]]], robust = s[[6]])
    say(paste("coxph", s[[1]], method), summary(fit))
    se_model <- sqrt(diag(if (is.null(fit$naive.var)) fit$var else fit$naive.var))
    se <- sqrt(diag(fit$var))
    z <- qnorm(0.975)
    cox_rows[[length(cox_rows) + 1]] <- data.frame(
      analysis = s[[1]], ties = method, robust = s[[6]], term = seq_along(coef(fit)),
      coef = unname(coef(fit)), se_model = unname(se_model), se = unname(se),
      hr = unname(exp(coef(fit))), hr_lower = unname(exp(coef(fit) - z * se)),
      hr_upper = unname(exp(coef(fit) + z * se)), loglik = fit$loglik[2],
      p = unname(2 * pnorm(-abs(coef(fit) / se))))
  }
}
wcsv(do.call(rbind, cox_rows), "expected/cox.csv")

# ---------------------------------------------------------------- Clopper-Pearson
bx <- expand.grid(x = c(0, 1, 7, 45, 120), n = c(10, 120), level = c(0.95, 0.9))
bx <- bx[bx$x <= bx$n, ]
bx$lower <- NA; bx$upper <- NA
for (k in seq_len(nrow(bx))) {
  ci <- binom.test(bx$x[k], bx$n[k], conf.level = bx$level[k])$conf.int
  bx$lower[k] <- ci[1]; bx$upper[k] <- ci[2]
}
say("binom.test Clopper-Pearson", bx)
wcsv(bx, "expected/clopper_pearson.csv")

close(raw)
writeLines(capture.output(sessionInfo()), file.path(out, "sessionInfo.txt"))

# Known patient data for the round-trip tests of the Guyot reconstruction (tests/compare/test_reconstruct.py).
#
# Run from the repository root:   Rscript tests/compare/data/make_data.R
# Data sets ship with R's survival package (Therneau T, A Package for Survival Analysis in R).
# Columns: time (days), event (1 = death, 0 = censored), arm (the grouping the tests compare).
# Also prints the reference hazard ratios and medians that the tests quote (coxph, Efron ties).

suppressPackageStartupMessages(library(survival))
out <- "tests/compare/data"
w <- function(df, name) write.csv(df, file.path(out, name), row.names = FALSE)

# lung: NCCTG advanced lung cancer; status 2 = dead; arm = sex (1 male, 2 female)
w(data.frame(time = lung$time, event = as.integer(lung$status == 2), arm = lung$sex), "lung.csv")
# veteran: VA lung cancer trial; arm = trt (1 standard, 2 test)
w(data.frame(time = veteran$time, event = veteran$status, arm = veteran$trt), "veteran.csv")
# ovarian: arm = rx (1, 2)
w(data.frame(time = ovarian$futime, event = ovarian$fustat, arm = ovarian$rx), "ovarian.csv")
# colon: the death records (etype 2); arm = rx (Obs, Lev, Lev+5FU)
cd <- colon[colon$etype == 2, ]
w(data.frame(time = cd$time, event = cd$status, arm = as.character(cd$rx)), "colon_death.csv")

for (f in c("lung.csv", "veteran.csv", "ovarian.csv", "colon_death.csv")) {
  d <- read.csv(file.path(out, f))
  cat("\n#####", f, "\n")
  print(survfit(Surv(time, event) ~ arm, data = d))
}
cat("\n##### hazard ratios (coxph, Efron ties)\n")
lung2 <- read.csv(file.path(out, "lung.csv"))
print(exp(coef(coxph(Surv(time, event) ~ I(arm == 2), data = lung2))))
vet <- read.csv(file.path(out, "veteran.csv"))
print(exp(coef(coxph(Surv(time, event) ~ I(arm == 2), data = vet))))
col <- read.csv(file.path(out, "colon_death.csv"))
col <- col[col$arm %in% c("Obs", "Lev+5FU"), ]
print(exp(coef(coxph(Surv(time, event) ~ I(arm == "Lev+5FU"), data = col))))

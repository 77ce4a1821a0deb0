# Writes monthly.csv and monthly_gaps.csv from R's bundled `datasets` package.
# Run from the repository root: Rscript data/own/make_csv.R
series <- list(AirPassengers = datasets::AirPassengers,  # airline passengers, thousands, 1949-1960
               UKDriverDeaths = datasets::UKDriverDeaths, # UK car drivers killed or seriously injured, 1969-1984
               nottem = datasets::nottem)                # Nottingham Castle mean air temperature, deg F, 1920-1939
long <- do.call(rbind, lapply(names(series), function(id) {
  s <- series[[id]]
  t <- time(s)
  data.frame(unique_id = id,
             ds = sprintf("%04d-%02d-01", as.integer(floor(t + 1e-6)), as.integer(cycle(s))),
             y = as.numeric(s))
}))
write.csv(long, "data/own/monthly.csv", row.names = FALSE, quote = FALSE)

# The same with holes: five months of nottem (1925-03 .. 1925-07) and two of AirPassengers are
# blanked (empty cells; the rows stay).
gaps <- long
holes <- (gaps$unique_id == "nottem" & gaps$ds %in% sprintf("1925-%02d-01", 3:7)) |
         (gaps$unique_id == "AirPassengers" & gaps$ds %in% c("1952-06-01", "1952-07-01"))
gaps$y[holes] <- NA
write.csv(gaps, "data/own/monthly_gaps.csv", row.names = FALSE, quote = FALSE, na = "")

# Seatbelts: UK road casualties 1969-1984 (monthly), with `law` (1 from February 1983, when the
# front seat-belt law took effect): a covariate whose future is known in advance.
sb <- datasets::Seatbelts
t <- time(sb)
seatbelts <- data.frame(date = sprintf("%04d-%02d-01", as.integer(floor(t + 1e-6)), as.integer(cycle(sb))),
                        PetrolPrice = as.numeric(sb[, "PetrolPrice"]),
                        law = as.numeric(sb[, "law"]),
                        drivers = as.numeric(sb[, "drivers"]))
write.csv(seatbelts, "data/own/seatbelts.csv", row.names = FALSE, quote = FALSE)

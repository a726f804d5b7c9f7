"""The sample order-checkout fleet the harness is developed and demonstrated against."""

"""Pure write-side maths: what one order or touchpoint adds to counters, customers and profiles."""

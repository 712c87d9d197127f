/* The DNS gateway (issue 6) is not written yet. */

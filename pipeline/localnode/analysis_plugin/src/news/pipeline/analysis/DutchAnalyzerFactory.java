package news.pipeline.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.nl.DutchAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Registers the stock Elasticsearch analyzer name "dutch" for the local test node.
 *
 * <p>The integ-test distribution ships without the analysis-common module, so "dutch" is
 * missing. Production Elasticsearch backs "dutch" with Lucene's {@link DutchAnalyzer}
 * built with its default stop words and no stem exclusions; this factory does exactly that,
 * so local analysis matches production.
 */
@NamedComponent("dutch")
public final class DutchAnalyzerFactory implements AnalyzerFactory {

    /** Public no-arg constructor: stable plugin components are instantiated reflectively. */
    public DutchAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new DutchAnalyzer();
    }
}
